"""Database URLs for other processes: the same server as a given URL, another database name.

A subprocess (gunicorn in a bench, a Celery worker in a test, a bench's throwaway database) must reach
exactly the server its parent uses, socket directory included: the embedded PostgreSQL of
`python3 dev.py` listens on a unix socket only, and a URL rebuilt from host and port parts silently
lands on whatever listens on 127.0.0.1:5432. So the parent's own DATABASE_URL is the source and only
the database name changes. Standard library only (dev.py and the benches use it before Django).
"""
from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit


def database_url_with_name(url: str, name: str) -> str:
    """The URL of database `name` on the server of `url`, in a form django-environ reads: it does not
    decode a percent-encoded socket directory in the host part, so that goes into ?host=, which Django
    passes on to psycopg."""
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, _, port = hostport.partition(":")
    if "%2F" in host.upper():
        query = [("host", unquote(host)), *([("port", port)] if port else [])]
        query += [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
        return urlunsplit(parts._replace(netloc=f"{userinfo}@", path="/" + name, query=urlencode(query, safe="/")))
    return urlunsplit(parts._replace(path="/" + name))


def psycopg_kwargs(url: str, *, dbname: str | None = None) -> dict[str, object]:
    """psycopg.connect() keyword arguments for `url` (socket directory or host and port)."""
    parts = urlsplit(database_url_with_name(url, dbname or urlsplit(url).path.lstrip("/") or "postgres"))
    query = dict(parse_qsl(parts.query))
    kwargs: dict[str, object] = {"user": unquote(parts.username or "postgres"),
                                 "dbname": unquote(parts.path.lstrip("/"))}
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    if query.get("host"):
        kwargs["host"] = query["host"]
        if query.get("port"):
            kwargs["port"] = int(query["port"])
    else:
        kwargs["host"] = parts.hostname or "127.0.0.1"
        kwargs["port"] = parts.port or 5432
    return kwargs
