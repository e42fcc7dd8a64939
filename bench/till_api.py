#!/usr/bin/env python3
"""Till purchase API under load (PTS-9): POST /api/v1/purchases/ through gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    .venv/bin/python bench/till_api.py --members 10000 --seconds 20 --clients 50 --workers 4 [--profile 300]

Realistic deployment: gunicorn serving memberhub.wsgi with memberhub.settings.production (DEBUG off,
persistent database connections CONN_MAX_AGE=60, keys from the environment — generated per run),
against a throwaway database (bench.common) with M members and one till device token. Redis (the
production broker and cache) is pointed at db 15 of the local server; the purchase path touches
neither. Gunicorn's sync workers are the default (`--worker-class gthread --threads N` to compare).

The load: `--clients` concurrent clients spread over `--procs` processes (threads with http.client
inside each, so the client does not starve the 2 cores the server needs more than it needs),
each posting new orders for random members; 10% of requests re-send an earlier order of the same
process with the same body (possibly still in flight in another thread: the idempotency race).
A new order must answer 201, a retry 200 (or 201 if it overtook the original). After a warm-up
second, it measures for `--seconds` and prints requests/s and p50/p95/p99 latency, then checks:
one purchase per 201, no purchase with two credit entries, every purchase with points credited,
and points.reconcile.reconcile() == []. `--profile N` then profiles N requests in-process (cProfile
and the SQL each request runs) to show where the time goes.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_SMS_BACKEND, django_setup, load_members, throwaway_database  # noqa: E402

PATH = "/api/v1/purchases/"
RETRY_SHARE = 0.10


def production_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment memberhub.settings.production requires, with keys made up for this run."""
    return {**{
        "DJANGO_SETTINGS_MODULE": "memberhub.settings.production",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "FIELD_HASH_KEY": secrets.token_urlsafe(32),
        "CELERY_BROKER_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "SMS_BACKEND": BENCH_SMS_BACKEND,
    }, **overrides}


def setup_till(members: int) -> tuple[str, list[str]]:
    """Members and one till of their store; returns (device token, card numbers)."""
    from django.db import connection

    from members.api_auth import device_create
    from members.models import Store

    store_id, cards = load_members(members)
    _device, token = device_create(name="bench till", store=Store.objects.get(pk=store_id))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return token, cards


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int, worker_class: str = "sync", threads: int = 1,
             timeout: float = 60):
    """Start gunicorn on a free port; yield (host, port); stop it (only the process we started)."""
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "memberhub.wsgi", "--chdir", str(ROOT),
           "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", worker_class, "--threads", str(threads),
           "--backlog", "2048", "--log-level", "warning", "--timeout", "60"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", PATH)
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- load generator


def purchase_body(rng: random.Random, card: str, order_no: str) -> str:
    """A till's order, made now (the clock of this process: a bench or test under a shifted clock posts
    orders of its own day; a retry re-sends the body as it was)."""
    lines = [{"brand": rng.choice(["LANCOME", "NIKE", "SONY", "UNIQLO"]), "category": rng.choice(["化妆品", "服装"]),
              "amount": f"{rng.randint(10, 3000)}.{rng.randint(0, 99):02d}"} for _ in range(rng.randint(1, 3))]
    total = sum(int(line["amount"].replace(".", "")) for line in lines)
    return json.dumps({"member": {"card": card}, "order_no": order_no, "occurred_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                       "lines": lines, "tenders": [{"type": "wechat", "amount": f"{total // 100}.{total % 100:02d}"}]},
                      ensure_ascii=False)


def _client(host, port, token, cards, start_at, measure_at, end_at, seed, tag, shared_sent, out, lock):
    rng = random.Random(seed)
    headers = {"Authorization": f"Device {token}", "Content-Type": "application/json", "Accept": "application/json"}
    conn = http.client.HTTPConnection(host, port, timeout=30)
    latencies, statuses, created, errors, seq = [], {}, 0, 0, 0
    while time.time() < start_at:
        time.sleep(0.005)
    while (now := time.time()) < end_at:
        retry = bool(shared_sent) and rng.random() < RETRY_SHARE
        if retry:
            body = rng.choice(shared_sent)
        else:
            seq += 1
            body = purchase_body(rng, rng.choice(cards), f"T{tag}-{seq}")
            shared_sent.append(body)
        t0 = time.perf_counter()
        try:
            conn.request("POST", PATH, body.encode(), headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            if resp.will_close:
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            status = "exception"
        elapsed = time.perf_counter() - t0
        ok = status == 201 or (retry and status == 200)
        created += status == 201
        if now >= measure_at:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            errors += not ok
        elif not ok:
            errors += 1
    conn.close()
    with lock:
        out["latencies"].extend(latencies)
        out["created"] += created
        out["errors"] += errors
        for k, v in statuses.items():
            out["statuses"][k] = out["statuses"].get(k, 0) + v


def _process(args) -> dict:
    host, port, token, cards, threads, start_at, measure_at, end_at, proc_no = args
    out = {"latencies": [], "created": 0, "errors": 0, "statuses": {}}
    lock = threading.Lock()
    shared_sent: list[str] = []
    workers = [threading.Thread(target=_client, args=(host, port, token, cards, start_at, measure_at, end_at,
                                                      proc_no * 1000 + i, f"{proc_no}-{i}", shared_sent, out, lock))
               for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return out


def run_load(host: str, port: int, token: str, cards: list[str], *, seconds: float, clients: int, procs: int,
             warmup: float = 1.0) -> dict:
    """Drive the server; returns requests/s, latency percentiles (ms), statuses, 201 count, errors."""
    procs = max(1, min(procs, clients))
    start_at = time.time() + 1.0  # let every process start before the clock runs
    measure_at, end_at = start_at + warmup, start_at + warmup + seconds
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    jobs = [(host, port, token, cards, n, start_at, measure_at, end_at, i) for i, n in enumerate(shares)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        parts = pool.map(_process, jobs)
    latencies = sorted(x for p in parts for x in p["latencies"])
    statuses: dict = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {"requests": len(latencies), "rps": len(latencies) / seconds, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "max": latencies[-1] * 1000 if latencies else float("nan"), "statuses": statuses,
            "created": sum(p["created"] for p in parts), "errors": sum(p["errors"] for p in parts)}


# ---------------------------------------------------------------- checks and profile


def verify(result: dict) -> dict:
    """Each order credited once and the ledger whole."""
    from django.db import connection

    from points.models import Purchase
    from points.reconcile import reconcile

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT purchase_id FROM points_entry WHERE kind = 'credit' "
                       "AND purchase_id IS NOT NULL GROUP BY purchase_id HAVING count(*) > 1) d")
        (double,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM points_purchase p WHERE p.points_earned > 0 AND NOT EXISTS "
                       "(SELECT 1 FROM points_entry e WHERE e.purchase_id = p.id AND e.kind = 'credit')")
        (uncredited,) = cursor.fetchone()
    purchases = Purchase.objects.count()
    return {"purchases": purchases, "created_responses": result["created"], "double_credits": double,
            "uncredited": uncredited, "reconcile": reconcile()}


def profile_requests(token: str, cards: list[str], n: int, *, top: int = 30) -> None:
    """N purchases in-process through the same stack (Django test client, no socket): wall time,
    SQL statements and their time per request, then the costliest functions."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Device {token}")
    rng = random.Random(7)

    def post(i):
        return client.post(PATH, purchase_body(rng, rng.choice(cards), f"PROF-{i}"), content_type="application/json")

    for i in range(20):  # warm
        assert post(f"w{i}").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        assert post("q").status_code == 201
        one = time.perf_counter() - t0
    sql_s = sum(float(q["time"]) for q in queries.captured_queries)
    print(f"\none request in-process: {one * 1000:.1f} ms wall, {len(queries)} SQL statements, "
          f"{sql_s * 1000:.1f} ms waiting on PostgreSQL")
    for q in queries.captured_queries:
        print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:150]}")
    t0 = time.perf_counter()
    for i in range(n):
        post(f"plain{i}")
    plain = (time.perf_counter() - t0) / n
    with CaptureQueriesContext(connection) as queries:
        for i in range(n):
            post(f"sql{i}")
    sql_s = sum(float(q["time"]) for q in queries.captured_queries) / n
    print(f"\n{n} requests in-process, one after another: {plain * 1000:.2f} ms each; "
          f"{len(queries) / n:.1f} SQL statements and {sql_s * 1000:.2f} ms waiting on PostgreSQL each "
          f"(so ~{(plain - sql_s) * 1000:.1f} ms of Python per request)")
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for i in range(n):
        post(i)
    profiler.disable()
    per = (time.perf_counter() - t0) / n
    print(f"\n{n} requests in-process under cProfile: {per * 1000:.2f} ms each (profiler overhead included)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="then profile N requests in-process")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    with throwaway_database("till", keep=args.keep) as url:
        env = production_env(url)
        os.environ.update(env)
        django_setup("memberhub.settings.production")
        token, cards = setup_till(args.members)
        from django.db import connections

        connections.close_all()  # no connection of ours held across the fork
        with gunicorn(env, workers=args.workers, worker_class=args.worker_class, threads=args.threads) as (host, port):
            result = run_load(host, port, token, cards, seconds=args.seconds, clients=args.clients, procs=args.procs)
        checks = verify(result)
        print(f"gunicorn {args.workers} x {args.worker_class}"
              f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}, {args.clients} clients "
              f"in {args.procs} processes, {args.members} members, {args.seconds:g} s measured on "
              f"{os.cpu_count()} CPUs")
        print(f"requests/s: {result['rps']:.0f}  ({result['requests']} requests)")
        print(f"latency ms: p50 {result['p50']:.1f}  p95 {result['p95']:.1f}  p99 {result['p99']:.1f}  "
              f"max {result['max']:.1f}")
        print(f"statuses: {result['statuses']}  errors: {result['errors']}")
        print(f"purchases {checks['purchases']} = 201 responses {checks['created_responses']}; "
              f"double credits {checks['double_credits']}; uncredited {checks['uncredited']}; "
              f"reconcile {'ok' if not checks['reconcile'] else checks['reconcile'][:5]}")
        ok = (result["errors"] == 0 and checks["double_credits"] == 0 and checks["uncredited"] == 0
              and checks["purchases"] == checks["created_responses"] and not checks["reconcile"])
        if args.profile:
            profile_requests(token, cards, args.profile)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
