"""Foundation: health endpoint, production settings refuse to start unsafely, deploy checks clean."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "memberhub.settings.production",
    "DJANGO_SECRET_KEY": "x7#k2!pq9vLm0zR4tY8wB1nC6dF3gH5jK7lM9pQ2sT4vW6yZ8aB0cD2eF4gH6jK8",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/memberhub",
    "FIELD_ENCRYPTION_KEYS": "cHJvZC10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDE=",
    "FIELD_HASH_KEY": "prod-test-hash-key-0123456789",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "members.example.com",
}


def _manage(*args, env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_", "CELERY_"))}
    base.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.django_db
def test_health_reports_database_cache_and_broker(client):
    response = client.get("/health/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    text = str(body)
    assert "Database" in text and "Cache" in text and "Broker" in text


def test_check_deploy_is_clean_with_production_settings():
    """SEC-5: `manage.py check --deploy` clean."""
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "FIELD_HASH_KEY"])
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PROD_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = _manage("check", env={**PROD_ENV, "DJANGO_SECRET_KEY": "insecure-short"})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_celery_is_configured_for_json_late_acks_and_three_queues():
    from memberhub.celery import app

    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert {q.name for q in app.conf.task_queues} == {"default", "sms", "nightly"}
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit
