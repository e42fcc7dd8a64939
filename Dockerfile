FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=memberhub.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
# collectstatic needs settings but no real secrets: use throwaway values at build time only.
RUN DJANGO_SECRET_KEY=build-only-$(python -c "import secrets;print(secrets.token_hex(32))") \
    DATABASE_URL=postgres://build@localhost/build FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMDEyMzQ1Njc4OWFiY2RlZg== \
    FIELD_HASH_KEY=build CELERY_BROKER_URL=redis://localhost:6379/0 \
    python manage.py compilemessages && \
    DJANGO_SECRET_KEY=build-only-$(python -c "import secrets;print(secrets.token_hex(32))") \
    DATABASE_URL=postgres://build@localhost/build FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMDEyMzQ1Njc4OWFiY2RlZg== \
    FIELD_HASH_KEY=build CELERY_BROKER_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput
RUN useradd --create-home memberhub && mkdir -p /app/media && chown -R memberhub /app
USER memberhub
EXPOSE 8000
CMD ["gunicorn", "memberhub.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "60"]
