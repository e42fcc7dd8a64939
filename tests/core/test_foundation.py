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


# ---------------------------------------------------------------- the production stack comes up healthy

_HEALTH_SCRIPT = """
import json
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from memberhub.healthcheck import probe_headers

# No collectstatic here: the error pages' {% static %} must not need the manifest.
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()

def get(path, **headers):
    r = Client().get(path, **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    return [r.status_code, r.get("Location", "")]

probe = {k: v for k, v in probe_headers().items() if k != "Host"}
print("RESULT " + json.dumps({
    "probe": get("/health/", host=probe_headers()["Host"], **probe),
    "plain_http": get("/health/", host="members.example.com", accept="application/json"),
    "other_path": get("/portal/", host="members.example.com"),
    "bare_probe": get("/health/", host="127.0.0.1:8000"),
}))
"""


@pytest.mark.django_db
def test_production_health_check_answers_the_container_probe():
    """docker-compose.yml's probe, through the test client with production settings: /health/ answers
    200 to the Host and X-Forwarded-Proto a proxy sends and to plain HTTP (exempt from the https
    redirect), while every other path still redirects; a bare Host outside DJANGO_ALLOWED_HOSTS stays
    refused, which is why the probe sends the allowed host."""
    import json

    from tests.support import subprocess_database_url

    env = {**PROD_ENV, "DATABASE_URL": subprocess_database_url(),
           "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15"),
           "DJANGO_ALLOWED_HOSTS": "members.example.com,.example.org"}
    env.pop("CACHE_URL", None)
    result = _manage("shell", "-c", _HEALTH_SCRIPT, env=env)
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, result.stdout + result.stderr
    got = json.loads(line[len("RESULT "):])
    assert got["probe"][0] == 200, got
    assert got["plain_http"][0] == 200, got
    assert got["other_path"][0] == 301 and got["other_path"][1].startswith("https://members.example.com/"), got
    assert got["bare_probe"][0] == 400, got


def test_health_probe_asks_with_an_allowed_host():
    from memberhub.healthcheck import probe_headers, probe_host

    assert probe_host("members.example.com, admin.example.com") == "members.example.com"
    assert probe_host(".example.com") == "example.com"
    assert probe_host("*") == probe_host("") == probe_host(None) == "localhost"
    assert probe_headers({"DJANGO_ALLOWED_HOSTS": "m.example.com"})["X-Forwarded-Proto"] == "https"


def test_compose_runs_migrations_once_before_web_worker_and_beat():
    """Scaled web replicas must not race `migrate`: a one-off service runs it, the app services wait
    for it to complete, and its own restart policy does not run it again."""
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert "migrate" in services["migrate"]["command"] and services["migrate"]["restart"] == "no"
    assert "migrate" not in services["migrate"]["depends_on"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "migrate" not in str(services[name]["command"]), name
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "memberhub/healthcheck.py"]
    assert (ROOT / "memberhub" / "healthcheck.py").exists()
