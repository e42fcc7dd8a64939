#!/usr/bin/env python3
"""Checkout quote under load (BEN-2): POST /api/v1/checkout/quote/ through gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    .venv/bin/python bench/checkout_quote.py --members 10000 --seconds 20 --clients 50 --workers 4

The deployment of bench/till_api.py (gunicorn, memberhub.settings.production, a throwaway database
from bench.common with M members of one store and one till token), the benefits catalogue as
seeded, a points campaign and a member-day extra so the quote does its full work. `--clients`
concurrent clients in `--procs` processes quote random baskets (1-4 lines over designated and other
categories) for random members. After a warm-up second it measures for `--seconds` and prints
requests/s and p50/p95/p99 latency against the goal (p95 < 30 ms), then checks that quote = credit:
a sample of quotes is posted to the purchase API in-process and must be credited the quoted points.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import django_setup, throwaway_database  # noqa: E402
from bench.till_api import gunicorn, production_env, setup_till  # noqa: E402

PATH = "/api/v1/checkout/quote/"
GOAL_P95_MS = 30.0
SETTINGS = "tests.benefits.bench_settings"


def quote_body(rng: random.Random, card: str) -> str:
    lines = [{"brand": rng.choice(["LANCOME", "NIKE", "SONY", "UNIQLO"]),
              "category": rng.choice(["化妆品", "服装", "鞋履", "数码"]),
              "amount": f"{rng.randint(10, 3000)}.{rng.randint(0, 99):02d}"} for _ in range(rng.randint(1, 4))]
    return json.dumps({"member": {"card": card}, "lines": lines}, ensure_ascii=False)


def setup_benefits() -> None:
    """A live campaign and member-day / birthday extras, so every rule of the quote is exercised."""
    from django.utils import timezone

    from benefits.services import member_day_config_update
    from members.models import Member, Tier
    from points.models import Campaign

    member_day_config_update(member_day_discount_percent="5", member_day_points_multiplier="2",
                             birthday_window="month", birthday_discount_percent="10")
    now = timezone.now()
    Campaign.objects.create(name="bench LANCOME ×2", starts_at=now - dt.timedelta(days=1),
                            ends_at=now + dt.timedelta(days=30), brands=["LANCOME"], multiplier=Decimal(2))
    from django.db.models import F

    tiers = list(Tier.objects.order_by("rank"))
    for i, tier in enumerate(tiers):  # spread the members over the four tiers
        Member.objects.alias(slot=F("pk") % len(tiers)).filter(slot=i).update(tier=tier)


def _client(host, port, token, cards, start_at, measure_at, end_at, seed, out, lock):
    rng = random.Random(seed)
    headers = {"Authorization": f"Device {token}", "Content-Type": "application/json", "Accept": "application/json"}
    conn = http.client.HTTPConnection(host, port, timeout=30)
    latencies, statuses, errors = [], {}, 0
    while time.time() < start_at:
        time.sleep(0.005)
    while (now := time.time()) < end_at:
        body = quote_body(rng, rng.choice(cards))
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
        if now >= measure_at:
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            errors += status != 200
    conn.close()
    with lock:
        out["latencies"].extend(latencies)
        out["errors"] += errors
        for k, v in statuses.items():
            out["statuses"][k] = out["statuses"].get(k, 0) + v


def _process(args) -> dict:
    host, port, token, cards, threads, start_at, measure_at, end_at, proc_no = args
    out = {"latencies": [], "errors": 0, "statuses": {}}
    lock = threading.Lock()
    workers = [threading.Thread(target=_client, args=(host, port, token, cards, start_at, measure_at, end_at,
                                                      proc_no * 1000 + i, out, lock)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return out


def run_load(host, port, token, cards, *, seconds: float, clients: int, procs: int, warmup: float = 1.0) -> dict:
    procs = max(1, min(procs, clients))
    start_at = time.time() + 1.0
    measure_at, end_at = start_at + warmup, start_at + warmup + seconds
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    jobs = [(host, port, token, cards, n, start_at, measure_at, end_at, i) for i, n in enumerate(shares)]
    with multiprocessing.get_context("fork").Pool(procs) as pool:
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
            "errors": sum(p["errors"] for p in parts)}


def verify_quote_equals_credit(token: str, cards: list[str], n: int) -> int:
    """Quote n baskets and post each quote's lines and tenders to the purchase API; mismatches."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Device {token}")
    rng = random.Random(11)
    mismatches = 0
    for i in range(n):
        card = rng.choice(cards)
        quote = client.post(PATH, quote_body(rng, card), content_type="application/json").json()
        posted = client.post("/api/v1/purchases/", json.dumps({
            "member": {"card": card}, "order_no": f"BQ-{i}", "occurred_at": quote["occurred_at"],
            "lines": quote["lines"], "tenders": quote["tenders"]}, ensure_ascii=False), content_type="application/json")
        mismatches += posted.status_code != 201 or posted.json()["points_earned"] != quote["points_to_earn"]
    return mismatches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--verify", type=int, default=50, help="quotes posted to check quote = credit")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    with throwaway_database("quote", keep=args.keep) as url:
        # production settings; the overlay only mounts benefits.urls while memberhub/urls.py lacks it
        env = production_env(url, DJANGO_SETTINGS_MODULE=SETTINGS)
        os.environ.update(env)
        django_setup(SETTINGS)
        token, cards = setup_till(args.members)
        setup_benefits()
        from django.db import connections

        connections.close_all()  # no connection of ours held across the fork
        with gunicorn(env, workers=args.workers) as (host, port):
            result = run_load(host, port, token, cards, seconds=args.seconds, clients=args.clients, procs=args.procs)
        mismatches = verify_quote_equals_credit(token, cards, args.verify)
        print(f"gunicorn {args.workers} sync workers, {args.clients} clients in {args.procs} processes, "
              f"{args.members} members, {args.seconds:g} s measured on {os.cpu_count()} CPUs")
        print(f"requests/s: {result['rps']:.0f}  ({result['requests']} requests)")
        print(f"latency ms: p50 {result['p50']:.1f}  p95 {result['p95']:.1f}  p99 {result['p99']:.1f}  "
              f"max {result['max']:.1f}   goal p95 < {GOAL_P95_MS:g} ms: "
              f"{'met' if result['p95'] < GOAL_P95_MS else 'NOT met'}")
        print(f"statuses: {result['statuses']}  errors: {result['errors']}")
        print(f"quote = credit on {args.verify} posted quotes: {args.verify - mismatches} ok, {mismatches} mismatched")
    return 0 if result["errors"] == 0 and mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
