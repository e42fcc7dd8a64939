"""Helpers the tests share that are not fixtures."""


def subprocess_database_url() -> str:
    """The URL a subprocess (gunicorn, a Celery worker) needs to reach this test's database: the
    parent's DATABASE_URL with only the database name changed, so the socket directory of the
    embedded server survives (core.dburl)."""
    from django.conf import settings
    from django.db import connection

    from core.dburl import database_url_with_name

    return database_url_with_name(settings.DATABASE_URL, connection.settings_dict["NAME"])
