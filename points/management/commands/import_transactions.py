"""Load historical purchases from a CSV file (for the tier engine's rolling amounts, TIER-2).

    python manage.py import_transactions FILE.csv [--credit-points] [--store-default CODE]

Columns: member_ref (member number or mobile), store (code), order_no, datetime (ISO 8601; without
an offset it is Asia/Shanghai local time), amount_paid, and optionally brand, category.

Idempotent on (store, order_no): a re-run imports nothing twice; a row whose order already exists
with different content is reported as a bad row. Bad rows are reported with their line number in the
file (the header is line 1) and the reason; good rows are imported regardless.

Two paths:
- `--credit-points`: every row goes through points.services.purchases.purchase_post(..., source="import"),
  the till's own service (points, campaigns, lots): exact but one transaction per row.
- default (history only, no points): a bulk path, one INSERT ... ON CONFLICT (store, order_no) DO
  NOTHING per chunk of rows, with the same request hash purchase_post computes, so the till API and a
  later purchase_post recognise these orders as the same content.
Members are looked up per chunk (one query for member numbers, one for mobiles), never per row.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from core import crypto
from core.errors import MemberHubError
from members.models import Member, Store
from members.validation import normalize_mobile
from points.calculation import line_label
from points.services.purchases import purchase_post, purchase_request_hash

CHUNK = 5000
REQUIRED = ("member_ref", "order_no", "datetime", "amount_paid")
CENT = Decimal("0.01")


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Row:
    line: int
    store: Store
    order_no: str
    member: Member
    occurred_at: dt.datetime
    amount: Decimal
    lines: list[dict]
    tenders: list[dict]

    @property
    def request_hash(self) -> str:
        return purchase_request_hash({"member": self.member.member_no, "at": self.occurred_at.isoformat(),
                                      "lines": self.lines, "tenders": self.tenders})


def _members_for(refs: set[str]) -> dict[str, Member]:
    """member_ref -> Member, two queries for the whole chunk."""
    found = {m.member_no: m for m in Member.objects.filter(member_no__in=refs).only("id", "member_no", "status")}
    by_hash = {}
    for ref in refs - found.keys():
        try:
            by_hash[crypto.lookup_hash(normalize_mobile(ref))] = ref
        except ValueError:
            continue
    for m in Member.objects.filter(mobile_hash__in=by_hash).only("id", "member_no", "status", "mobile_hash"):
        found[by_hash[m.mobile_hash]] = m
    return found


def _parse_chunk(raw: list[tuple[int, dict]], stores: dict[str, Store], store_default: str | None,
                 report: ImportReport) -> list[Row]:
    members = _members_for({(r.get("member_ref") or "").strip() for _, r in raw} - {""})
    rows = []
    for line, r in raw:
        r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if k}
        missing = [c for c in REQUIRED if not r.get(c)]
        code = r.get("store") or store_default
        if not code:
            missing.append("store")
        if missing:
            report.bad.append((line, f"missing {', '.join(missing)}"))
            continue
        store = stores.get(code)
        if store is None:
            report.bad.append((line, f"unknown store {code}"))
            continue
        member = members.get(r["member_ref"])
        if member is None:
            report.bad.append((line, f"no member with number or mobile {r['member_ref']}"))
            continue
        try:
            occurred_at = dt.datetime.fromisoformat(r["datetime"])
        except ValueError:
            report.bad.append((line, f"datetime {r['datetime']!r} is not ISO 8601"))
            continue
        if timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at)  # Asia/Shanghai
        if occurred_at > timezone.now():
            report.bad.append((line, "datetime is in the future"))
            continue
        try:
            amount = Decimal(r["amount_paid"]).quantize(CENT)
        except InvalidOperation:
            report.bad.append((line, f"amount_paid {r['amount_paid']!r} is not a number"))
            continue
        if amount <= 0 or amount >= Decimal("1e10"):
            report.bad.append((line, "amount_paid must be positive"))
            continue
        if len(r["order_no"]) > 64:
            report.bad.append((line, "order_no longer than 64 characters"))
            continue
        lines = [{"brand": line_label(r.get("brand")), "category": line_label(r.get("category")), "amount": str(amount)}]
        tenders = [{"type": "other", "amount": str(amount)}]
        rows.append(Row(line, store, r["order_no"], member, occurred_at, amount, lines, tenders))
    return rows


_BULK_INSERT = """
INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total, amount_paid, amount_refunded,
                             points_earned, points_reversed, lines, tenders, campaigns, request_hash, source,
                             created_at, changed_at, points_held)
SELECT u.store_id, u.order_no, u.member_id, u.occurred_at, u.amount, u.amount, 0, 0, 0, u.lines::jsonb,
       u.tenders::jsonb, '[]'::jsonb, u.request_hash, 'import', %s, %s, 0
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::timestamptz[], %s::numeric[], %s::text[], %s::text[],
            %s::text[]) AS u(store_id, order_no, member_id, occurred_at, amount, lines, tenders, request_hash)
ON CONFLICT (store_id, order_no) DO NOTHING
RETURNING store_id, order_no
"""

_EXISTING = """
SELECT p.store_id, p.order_no, p.request_hash FROM points_purchase p
JOIN unnest(%s::bigint[], %s::text[]) AS k(store_id, order_no) ON p.store_id = k.store_id AND p.order_no = k.order_no
"""


def _bulk_insert(all_rows: list[Row], report: ImportReport) -> None:
    # The first row of an order in this chunk is inserted; later ones are checked against it below.
    rows, repeats, seen = [], [], set()
    for row in all_rows:
        key = (row.store.pk, row.order_no)
        (repeats if key in seen else rows).append(row)
        seen.add(key)
    hashes = [row.request_hash for row in rows]
    now = timezone.now()  # changed_at too: the consumption cube's next refresh counts the imported history
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_BULK_INSERT, [
            now, now, [r.store.pk for r in rows], [r.order_no for r in rows], [r.member.pk for r in rows],
            [r.occurred_at for r in rows], [r.amount for r in rows],
            [json.dumps(r.lines, ensure_ascii=False) for r in rows],
            [json.dumps(r.tenders, ensure_ascii=False) for r in rows], hashes,
        ])
        inserted = set(cursor.fetchall())
        rest = [(r, h) for r, h in zip(rows, hashes, strict=True) if (r.store.pk, r.order_no) not in inserted]
        rest += [(r, r.request_hash) for r in repeats]
        existing = {}
        if rest:
            cursor.execute(_EXISTING, [[r.store.pk for r, _ in rest], [r.order_no for r, _ in rest]])
            existing = {(s, o): h for s, o, h in cursor.fetchall()}
    report.imported += len(inserted)
    for r, h in rest:
        if existing.get((r.store.pk, r.order_no)) == h:
            report.already += 1
        else:
            report.bad.append((r.line, f"order {r.store.code}/{r.order_no} already exists with different content"))


def _post_each(rows: list[Row], report: ImportReport) -> None:
    for r in rows:
        try:
            result = purchase_post(store=r.store, order_no=r.order_no, member=r.member, occurred_at=r.occurred_at,
                                   lines=r.lines, tenders=r.tenders, source="import", credit_points=True)
        except MemberHubError as exc:
            report.bad.append((r.line, exc.message))
            continue
        if result.created:
            report.imported += 1
        else:
            report.already += 1


def import_transactions_file(path: str, *, credit_points: bool = False, store_default: str | None = None,
                             chunk: int = CHUNK) -> ImportReport:
    report = ImportReport()
    stores = {s.code: s for s in Store.objects.all()}
    if store_default and store_default not in stores:
        raise CommandError(f"Unknown default store {store_default}.")
    started = time.perf_counter()
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        headers = {h.strip().lower() for h in reader.fieldnames or []}
        missing = [c for c in REQUIRED if c not in headers]
        if missing:
            raise CommandError(f"The file lacks the column(s): {', '.join(missing)}.")
        if "store" not in headers and not store_default:
            raise CommandError("The file has no store column: give --store-default CODE.")
        batch: list[tuple[int, dict]] = []
        for r in reader:
            report.rows += 1
            batch.append((reader.line_num, r))
            if len(batch) >= chunk:
                _import_chunk(batch, stores, store_default, credit_points, report)
                batch = []
        if batch:
            _import_chunk(batch, stores, store_default, credit_points, report)
    report.seconds = time.perf_counter() - started
    report.bad.sort()
    return report


def _import_chunk(batch, stores, store_default, credit_points, report) -> None:
    rows = _parse_chunk(batch, stores, store_default, report)
    if not rows:
        return
    if credit_points:
        _post_each(rows, report)
    else:
        _bulk_insert(rows, report)


class Command(BaseCommand):
    help = "Import historical purchases from CSV (idempotent on store + order number)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with member_ref, store, order_no, datetime, amount_paid[, brand, category]")
        parser.add_argument("--credit-points", action="store_true",
                            help="credit points through the till's purchase service (slower, one row at a time)")
        parser.add_argument("--store-default", metavar="CODE", help="store code for rows without one")
        parser.add_argument("--chunk", type=int, default=CHUNK, help="rows per batch (member lookup, insert)")
        parser.add_argument("--max-errors", type=int, default=200, help="bad rows to list (all are counted)")

    def handle(self, *args, file, credit_points, store_default, chunk, max_errors, **options):
        try:
            report = import_transactions_file(file, credit_points=credit_points, store_default=store_default,
                                              chunk=chunk)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        for line, reason in report.bad[:max_errors]:
            self.stdout.write(f"row {line}: {reason}")
        if len(report.bad) > max_errors:
            self.stdout.write(f"... and {len(report.bad) - max_errors} more bad rows")
        self.stdout.write(
            f"rows {report.rows}, imported {report.imported}, already imported {report.already}, "
            f"bad {len(report.bad)}; {report.seconds:.1f} s, {report.rows_per_second:,.0f} rows/s"
            + ("" if credit_points else " (history only, no points credited)")
        )
