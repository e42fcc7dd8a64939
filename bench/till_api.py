#!/usr/bin/env python3
"""Till purchase API under load (PTS-9): POST /api/v1/purchases/ through gunicorn, beside its SQL floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    .venv/bin/python bench/till_api.py --members 2000 --seconds 20 --clients 50 --workers 4      # wrk, saturation
    .venv/bin/python bench/till_api.py --rate 150 --seconds 20                                   # open loop, latency
    .venv/bin/python bench/till_api.py --client python --clients 50                              # the Python client
    .venv/bin/python bench/till_api.py --profile 200                                             # + cProfile in-process

Deployment: gunicorn serving memberhub.wsgi with memberhub.settings.production (DEBUG off, persistent
database connections, keys generated per run), against a throwaway database (bench.common) with M
members and one till device token; Redis db 15 of the local server is the broker and the cache.

Load, three ways:
- `--client wrk` (default; Debian's `wrk`, installed with apt-get when missing): closed loop,
  `--clients` connections on 2 threads, driven by a generated Lua script that posts new orders for
  random members with the device header and, for 10% of requests, re-sends an earlier order of the
  same thread byte for byte (a retry, possibly still in flight: the idempotency race). The load
  generator is C and costs the server almost nothing. A 2 s warm-up run precedes the measured one.
- `--client python`: the same traffic from threads with http.client in `--procs` processes.
- `--rate R`: open loop (what wrk2 does; Debian has no wrk2): requests are scheduled at a fixed
  offered rate R/s regardless of how fast the server answers (asyncio, a connection pool of up to
  `--max-conns`), and each latency is measured from its INTENDED send time, so a server that falls
  behind shows the queueing it causes (no coordinated omission).
A new order must answer 201, a retry 200 (or 201 if it overtook the original).

Floor: after the load, one purchase is posted in-process and the SQL statements it sends are captured
(bench.common.capture_statements) and written as a pgbench script, ONE transaction per run with a
random member and a fresh order number (bench.common.pgbench_script); `pgbench -c <clients>` runs it
for the same duration. The bench prints both figures and their ratio.

Checks after the load (the bench exits 1 if one fails): no error status; concurrent and sequential
retries of fresh orders answer 200 with the first result, a changed body under a used number 409;
one purchase per 201, no purchase credited twice, every purchase with points credited, and
points.reconcile.reconcile() == []. `--profile N` then profiles N requests in-process (cProfile and
the SQL each request runs).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BENCH_SMS_BACKEND,
    capture_statements,
    django_setup,
    load_members,
    pgbench_script,
    run_pgbench,
    throwaway_database,
)

PATH = "/api/v1/purchases/"
RETRY_SHARE = 0.10


def production_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment memberhub.settings.production requires, with keys made up for this run."""
    redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    return {**{
        "DJANGO_SETTINGS_MODULE": "memberhub.settings.production",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "FIELD_HASH_KEY": secrets.token_urlsafe(32),
        "CELERY_BROKER_URL": redis,
        "CACHE_URL": redis,
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
    """Start gunicorn on a free port; yield (host, port) once /health/ answers; stop it (only the
    process we started)."""
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
                conn.request("GET", "/health/", headers={"Accept": "application/json"})
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


def purchase_body(rng: random.Random, card: str, order_no: str) -> str:
    """A till's order, made now (the clock of this process: a bench or test under a shifted clock posts
    orders of its own day; a retry re-sends the body as it was)."""
    lines = [{"brand": rng.choice(["LANCOME", "NIKE", "SONY", "UNIQLO"]), "category": rng.choice(["化妆品", "服装"]),
              "amount": f"{rng.randint(10, 3000)}.{rng.randint(0, 99):02d}"} for _ in range(rng.randint(1, 3))]
    total = sum(int(line["amount"].replace(".", "")) for line in lines)
    return json.dumps({"member": {"card": card}, "order_no": order_no, "occurred_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                       "lines": lines, "tenders": [{"type": "wechat", "amount": f"{total // 100}.{total % 100:02d}"}]},
                      ensure_ascii=False)


def _percentiles(latencies: list[float], seconds: float) -> dict:
    latencies = sorted(latencies)

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {"requests": len(latencies), "rps": len(latencies) / seconds, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "max": latencies[-1] * 1000 if latencies else float("nan")}


# ---------------------------------------------------------------- load: Python threads, closed loop


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
    """Drive the server from Python threads; returns requests/s, latency percentiles (ms), statuses,
    201 count, errors."""
    procs = max(1, min(procs, clients))
    start_at = time.time() + 1.0  # let every process start before the clock runs
    measure_at, end_at = start_at + warmup, start_at + warmup + seconds
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    jobs = [(host, port, token, cards, n, start_at, measure_at, end_at, i) for i, n in enumerate(shares)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        parts = pool.map(_process, jobs)
    statuses: dict = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {**_percentiles([x for p in parts for x in p["latencies"]], seconds), "statuses": statuses,
            "created": sum(p["created"] for p in parts), "errors": sum(p["errors"] for p in parts)}


# ---------------------------------------------------------------- load: wrk, closed loop


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package when missing and we may (root with apt-get)."""
    if path := shutil.which("wrk"):
        return path
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        print("installing wrk (apt-get install wrk)", flush=True)
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False)
    if path := shutil.which("wrk"):
        return path
    raise RuntimeError("wrk is not installed and could not be installed (Debian: apt-get install wrk); "
                       "use --client python")


def _lua_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string literal is a valid Lua string literal here


WRK_LUA = r"""-- generated by bench/till_api.py: new and retried till orders with the device header
local token, path, nonce, retry_share = %(token)s, %(path)s, %(nonce)s, %(retry)s
local cards = {%(cards)s}
local brands = {"LANCOME", "NIKE", "SONY", "UNIQLO"}
local categories = {"化妆品", "服装"}
local threads = {}
local RING = 1000

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(tid * 7919 + os.time())
  statuses, sent, nsent, counter, retries = {}, {}, 0, 0, 0
  wrk.headers["Authorization"] = "Device " .. token
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
end

local function yuan(cents)
  return string.format("%%d.%%02d", math.floor(cents / 100), cents %% 100)
end

local function new_body()
  counter = counter + 1
  local lines, total = {}, 0
  for i = 1, math.random(1, 3) do
    local cents = math.random(10, 3000) * 100 + math.random(0, 99)
    total = total + cents
    lines[i] = string.format('{"brand": "%%s", "category": "%%s", "amount": "%%s"}',
      brands[math.random(#brands)], categories[math.random(#categories)], yuan(cents))
  end
  return string.format('{"member": {"card": "%%s"}, "order_no": "W%%s-%%d-%%d", "occurred_at": "%%s", ' ..
    '"lines": [%%s], "tenders": [{"type": "wechat", "amount": "%%s"}]}',
    cards[math.random(#cards)], nonce, tid, counter, os.date("!%%Y-%%m-%%dT%%H:%%M:%%S+00:00"),
    table.concat(lines, ", "), yuan(total))
end

function request()
  local body
  if nsent > 0 and math.random() < retry_share then
    body = sent[math.random(math.min(nsent, RING))]
    retries = retries + 1
  else
    body = new_body()
    sent[nsent %% RING + 1] = body
    nsent = nsent + 1
  end
  return wrk.format("POST", path, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, new, retried = {}, 0, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do total[status] = (total[status] or 0) + n end
    new = new + t:get("nsent")
    retried = retried + t:get("retries")
  end
  local parts = {}
  for status, n in pairs(total) do parts[#parts + 1] = string.format('"%%d": %%d', status, n) end
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests": %%d, "duration_us": %%d, "new": %%d, "retries": %%d, ' ..
    '"statuses": {%%s}, "socket_errors": %%d, "p50": %%f, "p90": %%f, "p95": %%f, "p99": %%f, "max": %%f}\n',
    summary.requests, summary.duration, new, retried, table.concat(parts, ", "),
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def wrk_script(token: str, cards: list[str], nonce: str) -> str:
    return WRK_LUA % {"token": _lua_str(token), "path": _lua_str(PATH), "nonce": _lua_str(nonce),
                      "retry": RETRY_SHARE, "cards": ", ".join(_lua_str(c) for c in cards)}


def _wrk_once(binary: str, url: str, script: str, *, clients: int, seconds: float, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="memberhub-till-", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run([binary, "-t", str(max(1, min(threads, clients))), "-c", str(clients),
                              "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", path, url],
                             capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(path)
    m = re.search(r"^WRK_RESULT (.*)$", out.stdout, re.M)
    if out.returncode != 0 or m is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    result = json.loads(m.group(1))
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    return result


def run_wrk(host: str, port: int, token: str, cards: list[str], *, seconds: float, clients: int,
            threads: int = 2, warmup: float = 2.0) -> dict:
    """Closed loop with wrk: a warm-up run, then the measured one. Returns the figures of the measured
    run, statuses of both, and the 201 count of both (every order the checks must find)."""
    binary = ensure_wrk()
    url = f"http://{host}:{port}{PATH}"
    nonce = secrets.token_hex(3)
    warm = _wrk_once(binary, url, wrk_script(token, cards, nonce + "w"), clients=clients, seconds=warmup,
                     threads=threads) if warmup > 0 else {"statuses": {}, "socket_errors": 0}
    run = _wrk_once(binary, url, wrk_script(token, cards, nonce + "m"), clients=clients, seconds=seconds,
                    threads=threads)
    bad = {k: v for part in (warm, run) for k, v in part["statuses"].items() if k not in (200, 201)}
    secs = run["duration_us"] / 1e6
    return {"requests": run["requests"], "rps": run["requests"] / secs, "p50": run["p50"], "p90": run["p90"],
            "p95": run["p95"], "p99": run["p99"], "max": run["max"], "statuses": run["statuses"],
            "retries_sent": run["retries"],
            # wrk abandons the requests in flight when its time is up: their orders may be stored unanswered
            "sent_new": sum(part.get("new", 0) for part in (warm, run)),
            "created": sum(part["statuses"].get(201, 0) for part in (warm, run)),
            "errors": sum(bad.values()) + warm["socket_errors"] + run["socket_errors"]}


# ---------------------------------------------------------------- load: open loop (fixed offered rate)


async def _open_loop(host, port, token, cards, *, rate, seconds, warmup, max_conns, seed) -> dict:
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    idle: list = []
    slots = asyncio.Semaphore(max_conns)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Device {token}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n")
    sent: list[str] = []
    measured: list[float] = []
    statuses: dict = {}
    counts = {"created": 0, "errors": 0}
    nonce = secrets.token_hex(3)

    async def exchange(body: bytes) -> int:
        for attempt in range(2):
            reused = bool(idle)
            reader, writer = idle.pop() if reused else await asyncio.open_connection(host, port)
            try:
                writer.write(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                raw = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if reused and attempt == 0:
                    continue  # a kept-alive connection the server had closed: the request never left
                raise
            status, length, close = int(raw.split(b" ", 2)[1]), 0, False
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            if length:
                await reader.readexactly(length)
            if close:
                writer.close()
            else:
                idle.append((reader, writer))
            return status
        raise ConnectionError("unreachable")

    async def one(intended: float, body: str, retry: bool, measure: bool):
        async with slots:
            try:
                status = await exchange(body.encode())
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status = "exception"
        latency = loop.time() - intended
        counts["created"] += status == 201
        ok = status == 201 or (retry and status == 200)
        counts["errors"] += not ok
        if measure:
            measured.append(latency)
            statuses[status] = statuses.get(status, 0) + 1

    start = loop.time() + 0.2
    total = int((warmup + seconds) * rate)
    tasks = []
    for i in range(total):
        intended = start + i / rate
        if (delay := intended - loop.time()) > 0:
            await asyncio.sleep(delay)
        retry = bool(sent) and rng.random() < RETRY_SHARE
        if retry:
            body = rng.choice(sent[-1000:])
        else:
            body = purchase_body(rng, rng.choice(cards), f"O{nonce}-{i}")
            sent.append(body)
        tasks.append(asyncio.create_task(one(intended, body, retry, measure=i >= warmup * rate)))
    await asyncio.gather(*tasks)
    for _reader, writer in idle:
        writer.close()
    return {**_percentiles(measured, seconds), "offered": rate, "statuses": statuses, **counts}


def run_open_loop(host: str, port: int, token: str, cards: list[str], *, rate: float, seconds: float,
                  warmup: float = 2.0, max_conns: int = 256, seed: int = 11) -> dict:
    """Open loop: requests at a fixed offered `rate` per second, latency from each one's intended
    send time (queueing behind a slow server included)."""
    return asyncio.run(_open_loop(host, port, token, cards, rate=rate, seconds=seconds, warmup=warmup,
                                  max_conns=max_conns, seed=seed))


# ---------------------------------------------------------------- checks


def _post(host, port, token, body: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("POST", PATH, body.encode(), {"Authorization": f"Device {token}",
                                                  "Content-Type": "application/json", "Accept": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else {})
    finally:
        conn.close()


def retry_checks(host: str, port: int, token: str, cards: list[str], *, orders: int = 20) -> dict:
    """Idempotency through the server after the load: each of `orders` fresh orders is posted by two
    threads at once (one 201, one 200 with the same result), then re-sent (200, same result); one of
    them re-sent with a changed amount answers 409. Returns {"created", "failures"}."""
    rng = random.Random(99)
    failures, created = [], 0
    nonce = secrets.token_hex(3)
    for i in range(orders):
        body = purchase_body(rng, rng.choice(cards), f"CHK{nonce}-{i}")
        barrier, answers = threading.Barrier(2), []

        def send(body=body, barrier=barrier, answers=answers):
            barrier.wait()
            answers.append(_post(host, port, token, body))

        pair = [threading.Thread(target=send) for _ in range(2)]
        for t in pair:
            t.start()
        for t in pair:
            t.join()
        again = _post(host, port, token, body)
        got = sorted(status for status, _ in answers)
        created += got.count(201)
        same = {json.dumps({k: v for k, v in b.items() if k != "balance"}, sort_keys=True)
                for _, b in [*answers, again]}
        if got != [200, 201] or again[0] != 200 or len(same) != 1:
            failures.append(f"order {i}: concurrent {got}, re-sent {again[0]}, {len(same)} distinct results")
    changed = json.loads(body)
    changed["lines"][0]["amount"] = "1.00"
    changed["tenders"][0]["amount"] = f"{sum(float(x['amount']) for x in changed['lines']):.2f}"
    status, answer = _post(host, port, token, json.dumps(changed, ensure_ascii=False))
    if status != 409:
        failures.append(f"changed body under a used order number: {status} {answer}")
    return {"created": created, "failures": failures}


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
    # Every 201 is one stored purchase; a load generator that abandons requests in flight at the end (wrk)
    # may leave orders stored unanswered, never more than the new orders it sent.
    unanswered = result.get("sent_new", 0) + result.get("checks_new", 0) - result["created"]
    counted = (purchases == result["created"] if "sent_new" not in result
               else result["created"] <= purchases <= result["created"] + max(0, unanswered))
    return {"purchases": purchases, "created_responses": result["created"], "double_credits": double,
            "uncredited": uncredited, "reconcile": reconcile(), "counted": counted}


# ---------------------------------------------------------------- floor and profile


def _client_post(client, rng, cards, order_no):
    return client.post(PATH, purchase_body(rng, rng.choice(cards), order_no), content_type="application/json")


def floor_script(token: str, members: int) -> tuple[str, int]:
    """The pgbench script of one purchase's own SQL (captured from a real request in-process, the
    same stack and settings gunicorn runs): one transaction per run, a random member of 1..members
    and a fresh order number. Returns (script, statements per purchase)."""
    from django.db import connection
    from django.test import Client

    from members.models import Member
    from points.models import Entry, Purchase

    with connection.cursor() as cursor:
        # Card numbers of the loaded members are '9' + the id on 11 digits (bench.common.load_members on a
        # fresh database): pgbench derives the card from its random member id.
        cursor.execute("SELECT count(*) FROM members_member WHERE id <= %s AND member_no = '9' || lpad(id::text, 11, '0')",
                       [members])
        assert cursor.fetchone()[0] == members, "member ids and card numbers do not follow load_members"
        # Ids far from any amount or points figure, so a captured value means one thing only.
        for table, base in (("points_purchase", 700_000_000), ("points_entry", 800_000_000),
                            ("points_lot", 900_000_000), ("points_pointsaccount", None)):
            if base:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 0) FROM {table}) + %s)", [base])
    member = Member.objects.get(member_no=f"9{members:011d}")  # the last loaded member: id == members
    client = Client(HTTP_AUTHORIZATION=f"Device {token}")
    rng = random.Random(5)
    order_no = f"FLOOR-{secrets.token_hex(3)}"
    assert _client_post(client, rng, [member.member_no], f"{order_no}-warm").status_code == 201
    statements, response = capture_statements(lambda: _client_post(client, rng, [member.member_no], order_no))
    assert response.status_code == 201, response.content
    purchase = Purchase.objects.get(order_no=order_no)
    entry = Entry.objects.get(purchase=purchase, kind=Entry.Kind.CREDIT)
    if member.pk in (purchase.points_earned, purchase.pk, entry.pk) or purchase.points_earned in (purchase.pk, entry.pk):
        raise ValueError("ambiguous capture: an id equals the points earned")
    order_expr = "('PGB-' || :client_id || '-' || :order_seq)"
    script = pgbench_script(statements, {
        member.pk: ":member_id",
        member.member_no: "('9' || lpad((:member_id)::text, 11, '0'))",
        order_no: order_expr,
        purchase.pk: ":points_purchase_id",
        entry.pk: ":points_entry_id",
        f"purchase:{purchase.pk}": "('purchase:' || :points_purchase_id)",
    }, prelude=f"\\set member_id random(1, {members})\n\\set order_seq random(1, 1000000000000000)\n")
    return script, len(statements)


def sql_per_request(token: str, cards: list[str], n: int = 20) -> float:
    """SQL statements per new purchase, in-process (warm)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Device {token}")
    rng = random.Random(3)
    tag = secrets.token_hex(3)
    _client_post(client, rng, cards, f"SQLW{tag}")
    statements, _ = capture_statements(lambda: [_client_post(client, rng, cards, f"SQL{tag}-{i}") for i in range(n)])
    return len(statements) / n


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
    print(f"\none request in-process: {one * 1000:.1f} ms wall, {len(queries)} SQL statements")
    for q in queries.captured_queries:
        print(f"  {q['sql'][:160]}")
    t0 = time.perf_counter()
    for i in range(n):
        post(f"plain{i}")
    plain = (time.perf_counter() - t0) / n
    print(f"\n{n} requests in-process, one after another: {plain * 1000:.2f} ms each")
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
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=50, help="closed loop: concurrent clients (also pgbench -c)")
    parser.add_argument("--client", default="wrk", choices=["wrk", "python"], help="closed-loop load generator")
    parser.add_argument("--rate", type=float, default=0, help="open loop at this offered rate (req/s) instead")
    parser.add_argument("--max-conns", type=int, default=256, help="open loop: connection cap")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--procs", type=int, default=2, help="--client python: load-generator processes")
    parser.add_argument("--no-floor", action="store_true", help="skip the pgbench floor")
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
            if args.rate:
                mode = f"open loop at {args.rate:g} req/s offered (latency from the intended send time)"
                result = run_open_loop(host, port, token, cards, rate=args.rate, seconds=args.seconds,
                                       max_conns=args.max_conns)
            elif args.client == "wrk":
                mode = f"wrk, {args.clients} connections closed loop"
                result = run_wrk(host, port, token, cards, seconds=args.seconds, clients=args.clients)
            else:
                mode = f"Python client, {args.clients} clients closed loop in {args.procs} processes"
                result = run_load(host, port, token, cards, seconds=args.seconds, clients=args.clients,
                                  procs=args.procs)
            retries = retry_checks(host, port, token, cards)
        result["created"] += retries["created"]
        result["checks_new"] = retries["created"]
        checks = verify(result)
        per_request = sql_per_request(token, cards)
        floor = None
        if not args.no_floor:
            script, statements = floor_script(token, args.members)
            connections.close_all()
            floor = {**run_pgbench(url, script, clients=args.clients, seconds=args.seconds),
                     "statements": statements}
        print(f"gunicorn {args.workers} x {args.worker_class}"
              f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}; {mode}; "
              f"{args.members} members; {args.seconds:g} s measured on {os.cpu_count()} CPUs "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"SQL statements per new purchase: {per_request:.1f}")
        print(f"requests/s: {result['rps']:.0f}  ({result['requests']} requests)")
        print(f"latency ms: p50 {result['p50']:.1f}  p95 {result['p95']:.1f}  p99 {result['p99']:.1f}  "
              f"max {result['max']:.1f}")
        print(f"statuses: {result['statuses']}  errors: {result['errors']}")
        if floor:
            print(f"floor (pgbench -c {args.clients}, the {floor['statements']} statements of one "
                  f"purchase as one transaction): {floor['tps']:.0f} TPS, {floor['latency_ms']:.1f} ms average, "
                  f"{floor['failed']} failed")
            print(f"API / floor: {result['rps'] / floor['tps']:.2f}"
                  + (" (open loop: the API is offered a fixed rate)" if args.rate else ""))
        print(f"retries after the load: {'ok' if not retries['failures'] else retries['failures'][:5]}")
        print(f"purchases {checks['purchases']} {'=' if checks['purchases'] == checks['created_responses'] else '>'} "
              f"201 responses {checks['created_responses']}"
              f"{'' if 'sent_new' not in result else ' (wrk leaves requests in flight unanswered at its end)'}"
              f" ({'ok' if checks['counted'] else 'MISMATCH'}); "
              f"double credits {checks['double_credits']}; uncredited {checks['uncredited']}; "
              f"reconcile {'ok' if not checks['reconcile'] else checks['reconcile'][:5]}")
        ok = (result["errors"] == 0 and checks["double_credits"] == 0 and checks["uncredited"] == 0
              and checks["counted"] and not checks["reconcile"]
              and not retries["failures"] and (floor is None or floor["failed"] == 0))
        if args.profile:
            profile_requests(token, cards, args.profile)
    print("checks: ok" if ok else "checks: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
