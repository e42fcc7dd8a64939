"""Shared set-up for the benchmarks: a throwaway database on a PostgreSQL server, Django configured
against it, and set-wise loaders of members that skip the per-row services (set-up speed only:
what a bench measures always goes through the real code).

The server is DATABASE_URL's (e.g. postgres://postgres@127.0.0.1:5432/postgres) or, when unset, a
throwaway embedded one started the way dev.py does. Each run creates `memberhub_bench_<name>_<pid>`
and drops it at the end, so a bench never touches real data.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_SMS_BACKEND = "bench.common.DiscardSmsBackend"


class DiscardSmsBackend:
    """Counts SMS instead of printing them: a bench sends tens of thousands."""

    sent = 0

    def send(self, message) -> str:
        DiscardSmsBackend.sent += 1
        return "bench"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    import dev

    return dev.embedded_database(Path(tempfile.mkdtemp(prefix="memberhub-bench-pg-")), throwaway=True)


def with_database(url: str, name: str) -> str:
    from core.dburl import database_url_with_name

    return database_url_with_name(url, name)


def admin_sql(url: str, sql: str) -> None:
    """Run one statement on the server's `postgres` database, outside any transaction."""
    import psycopg

    from core.dburl import psycopg_kwargs

    with psycopg.connect(**psycopg_kwargs(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def throwaway_database(name: str, *, keep: bool = False):
    """Create a fresh database, point DATABASE_URL at it, yield its URL, drop it afterwards."""
    base = server_url()
    db_name = f"memberhub_bench_{name}_{os.getpid()}"
    admin_sql(base, f'CREATE DATABASE "{db_name}"')
    url = with_database(base, db_name)
    os.environ["DATABASE_URL"] = url
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if keep:
            print(f"kept database {db_name}")
        else:
            admin_sql(base, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def django_setup(settings_module: str = "memberhub.settings.local", *, migrate: bool = True) -> None:
    """Configure Django for a bench process (DEBUG off, quiet logs, SMS counted not printed)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SMS_BACKEND", BENCH_SMS_BACKEND)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, stdout=io.StringIO())


# ---------------------------------------------------------------- set-wise loaders


_FILL_BY_TYPE = {"boolean": "false", "date": "current_date", "timestamp with time zone": "now()",
                 "jsonb": "'{}'::jsonb"}


def _not_null_fillers(cursor, table: str, given: set[str]) -> dict[str, str]:
    """SQL literals for NOT NULL columns without a default that the loader does not set (so a
    column added by another app later does not break the bench)."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL", [table])
    fill = {}
    for column, data_type in cursor.fetchall():
        if column in given:
            continue
        if data_type in ("character varying", "text"):
            fill[column] = "''"
        elif data_type in ("integer", "bigint", "smallint", "numeric"):
            fill[column] = "0"
        elif data_type in _FILL_BY_TYPE:
            fill[column] = _FILL_BY_TYPE[data_type]
        else:
            raise RuntimeError(f"bench loader: cannot fill {table}.{column} ({data_type})")
    return fill


def load_members(n: int, *, store_code: str = "B001", with_mobile: bool = True) -> tuple[int, list[str]]:
    """n active members in one statement; card numbers '9' + 11 digits (never a real sequence
    number). All share one encrypted mobile (SMS paths decrypt it; lookups by mobile are not
    benchmarked). Returns (store id, card numbers)."""
    from django.db import connection

    from core import crypto
    from members.models import Store, Tier

    store, _ = Store.objects.get_or_create(code=store_code, defaults={"name": "基准店"})
    tier = Tier.objects.order_by("rank").first()
    given = {"id", "member_no", "kind", "status", "name", "gender", "mobile_enc", "mobile_masked", "home_store_id",
             "tier_id", "channel", "privacy_version", "marketing_consent", "created_at", "updated_at"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM members_member")
        (offset,) = cursor.fetchone()
        fill = _not_null_fillers(cursor, "members_member", given)
        extra_cols = "".join(f", {c}" for c in fill)
        extra_vals = "".join(f", {v}" for v in fill.values())
        cursor.execute(
            f"""INSERT INTO members_member (member_no, kind, status, name, gender, mobile_enc, mobile_masked,
                    home_store_id, tier_id, channel, privacy_version, marketing_consent, created_at, updated_at
                    {extra_cols})
                SELECT '9' || lpad((%(offset)s + g)::text, 11, '0'), 'personal', 'active', '会员' || g,
                       CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END, %(mobile)s, '138****0000', %(store)s, %(tier)s,
                       'import', '2026-11', false, now(), now() {extra_vals}
                FROM generate_series(1, %(n)s) g
                RETURNING member_no""",
            {"offset": offset, "n": n, "store": store.pk, "tier": tier.pk,
             "mobile": crypto.encrypt("13800000000") if with_mobile else None})
        cards = [row[0] for row in cursor.fetchall()]
    return store.pk, cards


# ---------------------------------------------------------------- SQL floor (pgbench)


def capture_statements(fn) -> tuple[list[tuple[str, tuple | list | None]], object]:
    """Run fn() and return ([(sql, params), ...] it sent through Django's default connection, fn's result).
    Savepoints are included (they are statements the path pays for); BEGIN/COMMIT are not (the
    connection sends them implicitly), the floor script adds one BEGIN and COMMIT around everything."""
    from django.db import connection

    statements: list[tuple[str, tuple | list | None]] = []

    def wrapper(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        result = fn()
    return statements, result


def _returning_var(sql: str) -> str | None:
    """`INSERT INTO "points_purchase" … RETURNING "points_purchase"."id"` -> the pgbench \\gset prefix."""
    import re

    m = re.match(r'\s*INSERT INTO "(\w+)".*\bRETURNING\b', sql, re.S)
    return f"{m.group(1)}_" if m else None


def pgbench_script(statements, substitutions: dict, *, prelude: str = "") -> str:
    """A pgbench script running `statements` (from capture_statements) as ONE transaction, with the
    values that must differ per transaction replaced: `substitutions` maps a captured parameter value
    (compared by type and value, never by text) to the SQL expression pgbench sends instead, e.g.
    {member.pk: ":member_id", order_no: "('PGB-' || :client_id || '-' || :order_seq)"}. Rows an INSERT
    returns are captured with \\gset <table>_ so later statements can use :<table>_id (map the captured
    id to that). Refuses an ambiguous capture (a value to replace that is also an ordinary value, which
    value equality cannot tell apart) by raising ValueError."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    lines = [prelude.rstrip("\n")] if prelude else []
    lines.append("BEGIN;")
    keyed = {(type(k), k): v for k, v in substitutions.items()}
    for sql, params in statements:
        marks: dict[str, str] = {}
        if params:
            bound = []
            for i, p in enumerate(params):
                expr = keyed.get((type(p), p)) if isinstance(p, int | str) and not isinstance(p, bool) else None
                if expr is None:
                    bound.append(p)
                else:
                    mark = f"zzpgbenchvar{len(marks)}x{i}zz"
                    marks[mark] = expr
                    bound.append(mark)
            text = psycopg.ClientCursor(raw).mogrify(sql, bound)
            for mark, expr in marks.items():
                text = text.replace(f"'{mark}'", expr)
        else:
            text = sql
        if "\n" in text:
            text = " ".join(text.split("\n"))
        gset = _returning_var(sql)
        lines.append(f"{text} \\gset {gset}" if gset else f"{text};")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def run_pgbench(database_url: str, script: str, *, clients: int, seconds: float, threads: int = 2) -> dict:
    """Run the script with pgbench (-n: no vacuum of pgbench's own tables, -M simple: the client-side
    binding Django's psycopg backend uses) and return {"tps", "latency_ms", "transactions", "failed"}."""
    import re
    import shutil
    import subprocess

    from core.dburl import psycopg_kwargs

    binary = shutil.which("pgbench")
    if binary is None:
        raise RuntimeError("pgbench not found (Debian: apt-get install postgresql-client)")
    kw = psycopg_kwargs(database_url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="memberhub-floor-", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        cmd = [binary, "-n", "-M", "simple", "-c", str(clients), "-j", str(max(1, min(threads, clients))),
               "-T", str(max(1, round(seconds))), "-f", path, "-h", str(kw.get("host") or "127.0.0.1"),
               "-p", str(kw.get("port") or 5432), "-U", str(kw.get("user") or "postgres"), str(kw["dbname"])]
        env = {**os.environ}
        if kw.get("password"):
            env["PGPASSWORD"] = str(kw["password"])
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 120)
    finally:
        os.unlink(path)
    text = out.stdout + out.stderr
    tps = re.search(r"tps = ([\d.]+)", text)
    if out.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed ({out.returncode}):\n{text[-3000:]}")
    lat = re.search(r"latency average = ([\d.]+) ms", text)
    done = re.search(r"number of transactions actually processed: (\d+)", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    return {"tps": float(tps.group(1)), "latency_ms": float(lat.group(1)) if lat else float("nan"),
            "transactions": int(done.group(1)) if done else 0, "failed": int(failed.group(1)) if failed else 0}
