"""The container health probe (docker-compose.yml, `python memberhub/healthcheck.py`): GET /health/ on
the local gunicorn the way the reverse proxy in front of it asks.

Production settings refuse a Host that is not in DJANGO_ALLOWED_HOSTS (400) and redirect plain HTTP
to https (SECURE_SSL_REDIRECT; /health/ is exempt, SECURE_REDIRECT_EXEMPT), so a bare
`urlopen("http://127.0.0.1:8000/health/")` never sees a 200 and the container never turns healthy.
The probe sends the first allowed host and `X-Forwarded-Proto: https`, as the proxy does.

Run as a file, not as `-m memberhub.healthcheck`: importing the package would load the Celery app
every 30 seconds. Standard library only; exits 0 when healthy, 1 otherwise.
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/health/"


def probe_host(allowed_hosts: str | None) -> str:
    """The Host header a proxy would send: the first DJANGO_ALLOWED_HOSTS entry (".example.com" also
    matches "example.com"; "*" matches anything), or Django's local default."""
    first = next((h.strip() for h in (allowed_hosts or "").split(",") if h.strip()), "")
    if not first or first == "*":
        return "localhost"
    return first.lstrip(".")


def probe_headers(environ=None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {"Host": probe_host(environ.get("DJANGO_ALLOWED_HOSTS")), "X-Forwarded-Proto": "https",
            "Accept": "application/json"}


def main(url: str = DEFAULT_URL) -> int:
    request = urllib.request.Request(url, headers=probe_headers())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
