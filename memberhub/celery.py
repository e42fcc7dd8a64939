"""Celery application: Redis broker, JSON only, late acks, three queues."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memberhub.settings.local")

app = Celery("memberhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
