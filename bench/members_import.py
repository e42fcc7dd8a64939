#!/usr/bin/env python3
"""Throughput of the member import (MEM-8): parse + validate + encrypt + insert, in rows per second.

    .venv/bin/python bench/members_import.py --rows 100000 [--workers 1,2] [--format csv|xlsx] [--keep]

For each worker count (members.importing: validation, hashes and encryption in forked worker processes,
the command path's `import_members --workers N`) it times a dry run and an import of the same file,
emptying the members between runs, and checks that every worker count gives the same report (exit 1
if not). The machine's core count and load are printed with the figures: workers only help as far
as there are idle cores.

Runs against the PostgreSQL server of DATABASE_URL (or, when unset, a throwaway embedded server as
dev.py starts it), in a fresh database created for the run and dropped afterwards, so it never
touches real data and its numbers never collide with existing members.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_sql, server_url, with_database  # noqa: E402

HEADERS = ["姓名", "手机号", "性别", "生日", "身份证号", "省", "市", "区", "地址", "职业", "邮箱", "门店", "营销同意"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
AREAS = ["310101", "310104", "310106", "110101", "110105", "110108"]  # valid for every birth year
PLACES = [("上海市", "上海市", "黄浦区"), ("北京市", "北京市", "朝阳区"), ("广东省", "广州市", "天河区"),
          ("浙江省", "杭州市", "西湖区"), ("江苏省", "南京市", "鼓楼区")]


def generate_rows(n: int, *, store_code: str, seed: int = 1) -> list[list[str]]:
    """n valid rows, unique mobiles; one in three has an ID number (valid check digit)."""
    from stdnum.cn import ric

    rng = random.Random(seed)
    prefixes = ["138", "139", "150", "151", "186", "187", "135", "136", "158", "177"]
    mobiles = rng.sample(range(10**8), n)
    rows = []
    seen_ids: set[str] = set()
    for i in range(n):
        birthday = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        id_number = ""
        if i % 3 == 0:
            body = ""
            while not body or body in seen_ids:
                body = f"{rng.choice(AREAS)}{birthday.replace('-', '')}{rng.randrange(1000):03d}"
            seen_ids.add(body)
            id_number = body + ric.calc_check_digit(body + "0")  # it ignores the last character
        province, city, district = rng.choice(PLACES)
        rows.append([
            rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            f"{prefixes[i % len(prefixes)]}{mobiles[i]:08d}", rng.choice(["男", "女"]), birthday, id_number,
            province, city, district, f"{district}人民路{rng.randint(1, 999)}号", "职员",
            f"user{i}@example.com", store_code, rng.choice(["是", "否"]),
        ])
    return rows


def to_file(rows: list[list[str]], file_format: str) -> bytes:
    import tablib

    dataset = tablib.Dataset(*rows, headers=HEADERS)
    if file_format == "csv":
        return dataset.export("csv").encode("utf-8-sig")
    return dataset.export("xlsx")


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_calibration() -> str:
    """What two processes of pure Python work gain on this machine right now: the ceiling for workers=2."""
    import multiprocessing

    t0 = time.perf_counter()
    for _ in range(4):
        _spin(2_000_000)
    one = time.perf_counter() - t0
    with multiprocessing.get_context("fork").Pool(2) as pool:
        t0 = time.perf_counter()
        pool.map(_spin, [2_000_000] * 4)
        two = time.perf_counter() - t0
    return f"the same CPU work in 2 processes runs {one / two:.2f}× as fast as in 1 (the ceiling for workers=2)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker process counts to time")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions of the import")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (printed) for inspection")
    args = parser.parse_args()

    failed: list[str] = []
    base_url = server_url()
    db_name = f"memberhub_bench_{os.getpid()}"
    # BENCH_TEMPLATE_DB: copy a migrated database instead of migrating one (minutes on a loaded machine).
    template = os.environ.get("BENCH_TEMPLATE_DB")
    admin_sql(base_url, f'CREATE DATABASE "{db_name}"' + (f' TEMPLATE "{template}"' if template else ""))
    os.environ["DATABASE_URL"] = with_database(base_url, db_name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memberhub.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0, stdout=io.StringIO())
        from members.importing import member_import_file
        from members.models import ConsentLog, Member, MemberChange, Store

        store = Store.objects.create(code="B001", name="基准店")
        t0 = time.perf_counter()
        generated = generate_rows(args.rows, store_code=store.code)
        with_id = sum(1 for r in generated if r[4])  # their ID-number consent is recorded too
        content = to_file(generated, args.format)
        gen = time.perf_counter() - t0
        print(f"generated {args.rows} rows as {args.format} ({len(content) / 1e6:.1f} MB) in {gen:.1f} s")

        from django.db import connection

        print(f"machine: {os.cpu_count()} cores, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
              f"{parallel_calibration()}")
        failed = []
        reports = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE members_member CASCADE")
            t0 = time.perf_counter()
            dry = member_import_file(content=content, filename=f"bench.{args.format}", store_default=None,
                                     actor_user=None, dry_run=True, workers=workers)
            t_dry = time.perf_counter() - t0
            reports[workers] = dry.as_text()
            if not dry.ok:
                failed.append(f"workers={workers}: the dry run found errors: {dry.as_text()[:500]}")

            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            t0 = time.perf_counter()
            report = member_import_file(content=content, filename=f"bench.{args.format}", store_default=None,
                                        actor_user=None, dry_run=False, workers=workers)
            t_commit = time.perf_counter() - t0
            if profiler:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            counts = (report.imported, Member.objects.count(), ConsentLog.objects.count(), MemberChange.objects.count())
            if counts != (args.rows, args.rows, 2 * args.rows + with_id, args.rows):
                failed.append(f"workers={workers}: imported, members, consents, changes = {counts}")

            print(f"workers={workers}  dry run  (parse + validate + duplicate check):          {t_dry:6.2f} s  "
                  f"{args.rows / t_dry:8.0f} rows/s")
            print(f"workers={workers}  import   (parse + validate + encrypt + insert, 4 rows/member): "
                  f"{t_commit:6.2f} s  {args.rows / t_commit:8.0f} rows/s")
        if len(set(reports.values())) > 1:
            failed.append("the reports differ between worker counts")
        for problem in failed:
            print("FAILED:", problem)
        connections.close_all()
    finally:
        if args.keep:
            print(f"kept database {db_name}")
        else:
            from django.db import connections

            connections.close_all()
            admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}"')
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
