"""Helpers the tests share that are not fixtures."""


def subprocess_database_url() -> str:
    """The URL a subprocess (gunicorn, a Celery worker) needs to reach this test's database: the
    parent's DATABASE_URL with only the database name changed, so the socket directory of the
    embedded server survives (core.dburl)."""
    from django.conf import settings
    from django.db import connection

    from core.dburl import database_url_with_name

    return database_url_with_name(settings.DATABASE_URL, connection.settings_dict["NAME"])


def race(calls):
    """Run the callables at the same moment, one thread each (a barrier releases them together), each on
    its own database connection; returns each one's result, or the MemberHubError it raised, in order."""
    import threading

    from django.db import connection

    from core.errors import MemberHubError

    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i):
        try:
            barrier.wait()
            results[i] = calls[i]()
        except MemberHubError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
