"""Regression (issue 11): a subprocess the suite starts reaches the test's own database on the test's own
server. The bench smoke test once rebuilt a URL from host/port parts and, on the embedded PostgreSQL
(unix socket only), its gunicorn connected to 127.0.0.1:5432 instead."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from core.dburl import database_url_with_name, psycopg_kwargs
from tests.support import subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = ("SELECT current_database(), pg_postmaster_start_time()::text, "
            "current_setting('unix_socket_directories'), current_setting('port')")

CHILD = f"""
import json, django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute({IDENTITY!r})
    print(json.dumps(list(cursor.fetchone())))
"""


@pytest.mark.django_db
def test_a_subprocess_gets_the_exact_server_and_database_of_the_test():
    with connection.cursor() as cursor:
        cursor.execute(IDENTITY)
        mine = list(cursor.fetchone())
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="memberhub.settings.test", DATABASE_URL=subprocess_database_url())
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == mine  # same database, same server start, same socket


def test_socket_directory_survives_a_change_of_database_name():
    """The forms dev.py and django-environ write for a unix-socket server keep their socket."""
    assert database_url_with_name("postgres://postgres@/postgres?host=/tmp/pg-a", "test_x") == \
        "postgres://postgres@/test_x?host=/tmp/pg-a"
    assert database_url_with_name("postgres://postgres@%2Ftmp%2Fpg-b:5433/postgres", "test_x") == \
        "postgres://postgres@/test_x?host=/tmp/pg-b&port=5433"
    assert psycopg_kwargs("postgres://postgres@/postgres?host=/tmp/pg-a", dbname="test_x") == \
        {"user": "postgres", "dbname": "test_x", "host": "/tmp/pg-a"}
    assert psycopg_kwargs("postgres://u:p%40ss@db.internal:6432/app") == \
        {"user": "u", "password": "p@ss", "dbname": "app", "host": "db.internal", "port": 6432}
