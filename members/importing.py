"""Bulk import of existing members from CSV / Excel (MEM-8): read, check every row, report, insert.

The import is all or nothing: a file with any bad row imports nothing, so a clerk fixes the file and
uploads it again instead of hunting for which half went in. Row numbers in the report are the rows
a person sees in Excel: the header is row 1, the first member is row 2.

Parallel checking (issue 17): the work of one row that needs nothing but the row (cleaning and
validating it, its lookup hashes and, for an import, the encryption and masks of its personal data,
`_prepare_row`) can run in worker processes (`workers` > 1: `manage.py import_members --workers N`;
the desk page stays in its request's process). Everything that depends on other rows or on the
database (duplicates within the file, stores, store scope, members already registered, the insert)
stays in this process and sees the rows in file order, so the report is the same row for row, in the
same order, with any number of workers. Workers are forked (they inherit the settings, keys and the
active language) and never touch the database: the inherited connection is set aside unused.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import multiprocessing
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import tablib
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg.copy import QueuedLibpqWriter
from stdnum.cn import ric

from core import crypto
from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.models import AuditLog

from . import scope
from .models import ConsentLog, Member, MemberChange, MemberSettings, Store
from .review_schedule import next_review_date
from .selectors import current_privacy_version
from .services import entry_tier, member_number_check_digit, member_numbers_allocate
from .validation import age_on, clean_member_data, normalize_mobile

BATCH_SIZE = 5000
# Rows per task sent to a worker process: large enough that pickling and the pipe cost little per row.
WORKER_CHUNK = 2000

# canonical column -> accepted headers (compared case-insensitively, spaces ignored)
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "mobile": ("mobile", "手机号", "手机", "手机号码"),
    "gender": ("gender", "性别"),
    "birthday": ("birthday", "生日", "出生日期"),
    "id_number": ("id_number", "身份证号", "身份证", "身份证号码"),
    "province": ("province", "省", "省份"),
    "city": ("city", "市", "城市"),
    "district": ("district", "区", "区县"),
    "address": ("address", "地址", "详细地址"),
    "occupation": ("occupation", "职业"),
    "email": ("email", "邮箱", "电子邮箱", "e-mail"),
    "store_code": ("store_code", "门店", "门店代码", "store"),
    "marketing_consent": ("marketing_consent", "营销同意", "营销"),
    "member_no": ("member_no", "会员号", "卡号", "会员卡号"),
}
HEADER_TO_FIELD = {alias.lower().replace(" ", ""): key for key, aliases in COLUMNS.items() for alias in aliases}
REQUIRED_COLUMNS = ("name", "mobile")
FIELD_LABELS = {
    "file": gettext_lazy("file"), "name": gettext_lazy("name"), "mobile": gettext_lazy("mobile"),
    "gender": gettext_lazy("gender"), "birthday": gettext_lazy("birthday"), "id_number": gettext_lazy("ID number"),
    "province": gettext_lazy("province"), "city": gettext_lazy("city"), "district": gettext_lazy("district"),
    "address": gettext_lazy("address"), "occupation": gettext_lazy("occupation"), "email": gettext_lazy("e-mail"),
    "store_code": gettext_lazy("store"), "marketing_consent": gettext_lazy("marketing consent"),
    "member_no": gettext_lazy("member number"),
}

GENDERS = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F", "": "U", "u": "U", "未知": "U"}
YES = {"是", "1", "true", "yes", "y", "同意"}
NO = {"否", "0", "false", "no", "n", "不同意", ""}
MEMBER_NO_RE = re.compile(r"\d{12}")
_DATE_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    @property
    def field_label(self) -> str:
        return str(FIELD_LABELS.get(self.field, self.field))


@dataclass
class ImportReport:
    dry_run: bool
    total: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    per_store: dict[str, int] = field(default_factory=dict)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def valid(self) -> int:
        return self.total - len({e.row for e in self.errors if e.row > 1})

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_text(self) -> str:
        lines = [
            _("Rows: %(total)s, valid: %(valid)s, bad rows: %(bad)s, imported: %(imported)s%(dry)s") % {
                "total": self.total, "valid": self.valid, "bad": self.bad_rows, "imported": self.imported,
                "dry": _(" (dry run)") if self.dry_run else "",
            }
        ]
        lines += [f"  {_('row')} {e.row}  {e.field_label}: {e.message}" for e in self.errors]
        return "\n".join(lines)


# ---------------------------------------------------------------- reading files


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(content: bytes, *, file_format: str) -> list[dict]:
    """Rows of a CSV (UTF-8, or GB18030 as Chinese Excel saves it) or XLSX file, keyed by the file's headers."""
    if file_format == "csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed(_("The file is not UTF-8 or GBK text."), code="bad_file")
        try:
            dataset = tablib.Dataset().load(text, format="csv")
        except Exception as exc:  # tablib raises assorted errors on malformed CSV
            raise ValidationFailed(_("The CSV file could not be read: %(error)s") % {"error": exc}, code="bad_file") from exc
    elif file_format == "xlsx":
        try:
            dataset = tablib.Dataset().load(content, format="xlsx")
        except Exception as exc:  # not a zip, not a workbook, ...
            raise ValidationFailed(_("The Excel file could not be read; save it as .xlsx."), code="bad_file") from exc
    else:
        raise ValidationFailed(_("Upload a .csv or .xlsx file."), code="bad_file")
    headers = [_cell(h) for h in (dataset.headers or [])]
    return [dict(zip(headers, (_cell(v) for v in row), strict=False)) for row in dataset]


def file_format_for(filename: str) -> str:
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".xlsx"):
        return "xlsx"
    raise ValidationFailed(_("Upload a .csv or .xlsx file."), code="bad_file")


# ---------------------------------------------------------------- checking rows


def _canonical(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        name = HEADER_TO_FIELD.get(str(key).strip().lower().replace(" ", ""))
        if name:
            out[name] = value if isinstance(value, str) else _cell(value)
    return out


def _birthday(value: str) -> str:
    m = _DATE_RE.fullmatch(value)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


@dataclass
class _Row:
    number: int
    cleaned: dict
    store: Store | None
    marketing: bool
    member_no: str
    mobile_hash: str
    id_hash: str | None
    sealed: dict | None = None  # encrypted and masked personal data, when the worker made them


def _check_row(raw: dict, *, today: dt.date, guardian_age: int) -> tuple[dict, dict, dict[str, str]]:
    """Clean one row; return (cleaned member data, import-only values, field errors)."""
    errors: dict[str, str] = {}
    data = {key: raw.get(key, "") for key in ("name", "birthday", "id_number", "province", "city",
                                               "district", "address", "occupation", "email")}
    data["birthday"] = _birthday(data["birthday"])
    gender = raw.get("gender", "")
    data["gender"] = GENDERS.get(gender.lower(), gender)
    cleaned: dict = {}
    try:
        # partial=True: the mobile is checked separately below (a missing one is its own message).
        cleaned = clean_member_data(data, partial=True, today=today)
    except ValidationFailed as exc:
        errors.update({k: v[0] for k, v in exc.fields.items()})
    try:
        cleaned["mobile"] = normalize_mobile(raw.get("mobile", ""))
    except ValueError as exc:
        errors["mobile"] = str(exc)
    if cleaned.get("id_number") and not cleaned.get("birthday") and "birthday" not in errors:
        cleaned["birthday"] = ric.get_birth_date(cleaned["id_number"])  # as clean_member_data does when not partial
    if cleaned.get("birthday") and "birthday" not in errors and age_on(cleaned["birthday"], today) < guardian_age:
        # PIPL art. 31: a child's account needs a guardian's consent, which a file cannot carry.
        errors["birthday"] = _("Under %(age)s: register this member at the desk with the guardian's consent.") % {
            "age": guardian_age}
    extra = {}
    consent = raw.get("marketing_consent", "").lower()
    if consent in YES:
        extra["marketing"] = True
    elif consent in NO:
        extra["marketing"] = False
    else:
        errors["marketing_consent"] = _("Write 是 or 否 (yes / no).")
    member_no = raw.get("member_no", "").replace(" ", "")
    if member_no and not MEMBER_NO_RE.fullmatch(member_no):
        errors["member_no"] = _("A member number has 12 digits; leave it empty to allocate a new one.")
    extra["member_no"] = member_no
    extra["store_code"] = raw.get("store_code", "")
    return cleaned, extra, errors


def _seal(cleaned: dict) -> dict:
    """The stored form of a row's personal data: encrypted (Fernet) and masked."""
    mobile, id_number, address = cleaned["mobile"], cleaned.get("id_number"), cleaned.get("address")
    return {"mobile_enc": crypto.encrypt(mobile), "mobile_masked": crypto.mask_mobile(mobile),
            "id_number_enc": crypto.encrypt(id_number), "id_number_masked": crypto.mask_id_number(id_number),
            "address_enc": crypto.encrypt(address), "address_masked": crypto.mask_text(address)}


@dataclass
class _Prepared:
    """What one row gives without looking at any other row or the database."""
    cleaned: dict
    extra: dict
    bad: dict[str, str]
    mobile_hash: str | None
    id_hash: str | None
    sealed: dict | None


def _prepare_row(raw: dict, *, today: dt.date, guardian_age: int, seal: bool) -> _Prepared:
    cleaned, extra, bad = _check_row(raw, today=today, guardian_age=guardian_age)
    mobile_hash = crypto.lookup_hash(cleaned["mobile"]) if "mobile" in cleaned else None
    id_hash = crypto.lookup_hash(cleaned["id_number"]) if cleaned.get("id_number") else None
    sealed = _seal(cleaned) if seal and not bad else None
    return _Prepared(cleaned, extra, bad, mobile_hash, id_hash, sealed)


# Kept, never used, in a worker: dropping the inherited database connection would close the parent's socket.
_inherited_connections: list = []


def _worker_init(language: str | None) -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        _inherited_connections.append(conn.connection)
        conn.connection = None  # a (mistaken) query would open its own connection, not share the parent's
    if language:
        translation.activate(language)


def _prepare_chunk(rows: list[dict], *, today: dt.date, guardian_age: int, seal: bool) -> list[tuple]:
    """A worker's task. Plain tuples go back, not _Prepared objects: unpickling 20,000 dataclass instances
    cost the parent ~1 s, a third of the work it handed out."""
    out = []
    for raw in rows:
        p = _prepare_row(_canonical(raw), today=today, guardian_age=guardian_age, seal=seal)
        out.append((p.cleaned, p.extra, p.bad, p.mobile_hash, p.id_hash, p.sealed))
    return out


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _prepared_rows(rows: Iterable[dict], *, today: dt.date, guardian_age: int, seal: bool,
                   workers: int) -> Iterator[tuple[dict, _Prepared]]:
    """(canonical row, prepared row) in file order; the preparing runs in `workers` processes when > 1.
    The canonical row is given for the first row only (its headers are checked), {} afterwards."""
    prepare = functools.partial(_prepare_chunk, today=today, guardian_age=guardian_age, seal=seal)
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    head = _canonical(first)
    yield head, _prepare_row(head, today=today, guardian_age=guardian_age, seal=seal)
    if workers <= 1:
        for raw in it:
            yield {}, _prepare_row(_canonical(raw), today=today, guardian_age=guardian_age, seal=seal)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_worker_init, initargs=(translation.get_language(),)) as pool:
        for prepared in pool.imap(prepare, _chunks(it, WORKER_CHUNK)):
            for p in prepared:
                yield {}, _Prepared(*p)


def _existing(field_name: str, values: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(values), BATCH_SIZE):
        chunk = values[i:i + BATCH_SIZE]
        found.update(Member.objects.filter(**{f"{field_name}__in": chunk}).values_list(field_name, flat=True))
    return found


def _check_rows(rows: Iterable[dict], *, store_default: Store | None, actor_user, first_row: int,
                report: ImportReport, seal: bool = False, workers: int = 1) -> list[_Row]:
    today = timezone.localdate()
    guardian_age = MemberSettings.get().guardian_age
    errors = report.errors
    stores = {s.code: s for s in Store.objects.all()}
    allowed_ids = scope.store_ids(actor_user) if actor_user is not None else None
    seen_mobile: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    seen_no: dict[str, int] = {}
    good: list[_Row] = []
    headers_checked = False
    prepared_rows = _prepared_rows(rows, today=today, guardian_age=guardian_age, seal=seal, workers=workers)
    for number, (raw, prepared) in enumerate(prepared_rows, start=first_row):
        if not headers_checked:
            headers_checked = True
            missing = [c for c in REQUIRED_COLUMNS if c not in raw]
            if missing:
                prepared_rows.close()
                errors.extend(RowError(1, "file", _("The column %(column)s is missing.") % {"column": COLUMNS[c][1]})
                              for c in missing)
                return []
        report.total += 1
        cleaned, extra, bad = prepared.cleaned, prepared.extra, prepared.bad
        store = store_default
        if extra["store_code"]:
            store = stores.get(extra["store_code"])
            if store is None or not store.is_active:
                bad["store_code"] = _("No such store: %(code)s.") % {"code": extra["store_code"]}
        elif store is None:
            bad["store_code"] = _("Give the store code, or choose a default store for the file.")
        if store is not None and "store_code" not in bad and allowed_ids is not None and store.pk not in allowed_ids:
            bad["store_code"] = _("You can only import members of your own store.")
        mobile_hash, id_hash = prepared.mobile_hash, prepared.id_hash
        if mobile_hash is not None:
            if mobile_hash in seen_mobile:
                bad["mobile"] = _("Same mobile number as row %(row)s.") % {"row": seen_mobile[mobile_hash]}
            else:
                seen_mobile[mobile_hash] = number
        if id_hash is not None:
            if id_hash in seen_id:
                bad["id_number"] = _("Same ID number as row %(row)s.") % {"row": seen_id[id_hash]}
            else:
                seen_id[id_hash] = number
        member_no = extra["member_no"]
        if member_no and "member_no" not in bad:
            if member_no in seen_no:
                bad["member_no"] = _("Same member number as row %(row)s.") % {"row": seen_no[member_no]}
            else:
                seen_no[member_no] = number
        if bad:
            errors.extend(RowError(number, f, m) for f, m in bad.items())
            continue
        good.append(_Row(number, cleaned, store, extra["marketing"], member_no, mobile_hash, id_hash, prepared.sealed))
    if not headers_checked:
        errors.append(RowError(1, "file", _("The file has no rows.")))
        return []
    _check_against_database(good, report)
    return good


def _check_against_database(rows: list[_Row], report: ImportReport) -> None:
    """Members already registered, found by lookup hash in batches, never row by row."""
    taken_mobile = _existing("mobile_hash", [r.mobile_hash for r in rows])
    taken_id = _existing("id_number_hash", [r.id_hash for r in rows if r.id_hash])
    taken_no = _existing("member_no", [r.member_no for r in rows if r.member_no])
    if not (taken_mobile or taken_id or taken_no):
        return
    for r in rows:
        if r.mobile_hash in taken_mobile:
            report.errors.append(RowError(r.number, "mobile", _("This mobile number is already registered to a member.")))
        if r.id_hash and r.id_hash in taken_id:
            report.errors.append(RowError(r.number, "id_number", _("This ID number is already registered to a member.")))
        if r.member_no and r.member_no in taken_no:
            report.errors.append(RowError(r.number, "member_no", _("This member number is already in use.")))
    report.errors.sort(key=lambda e: e.row)


# ---------------------------------------------------------------- writing


def _keep_sequence_ahead(member_nos: list[str]) -> None:
    """A kept number that looks like one of ours ('86' + sequence + Luhn digit) must never be allocated
    again, so the sequence moves past the highest such number."""
    ours = [int(n[2:11]) for n in member_nos if n.startswith("86") and member_number_check_digit(n[:11]) == n[11]]
    if ours:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('member_no_seq', GREATEST(%s, nextval('member_no_seq')))", [max(ours)])


def copy_insert(model, rows: Iterable[dict]) -> int:
    """Insert rows (field attname -> value) with PostgreSQL COPY, inside the caller's transaction.

    About five times faster than bulk_create for wide rows (bench/README.md), because no model
    instances are built and no INSERT statement is compiled. Fields a row leaves out take the model
    default, auto_now(_add) fields the current time, so a field added to the model later still gets
    its value here. Give "id" in every row, or in none. The queued writer sends from a thread, so
    the server digests one chunk while Python builds and encrypts the next."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in first]
    defaults = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.primary_key:
            value = None
        else:
            value = f.get_db_prep_save(f.get_default(), connection)
        defaults.append((f.attname, value))
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql, writer=QueuedLibpqWriter(cursor)) as copy:
        for row in itertools.chain([first], rows):
            copy.write_row([row.get(name, default) for name, default in defaults])
            count += 1
    return count


def allocate_ids(model, count: int) -> list[int]:
    """Primary keys from the table's own identity sequence, for rows that others will reference."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [model._meta.db_table, count])
        return [row[0] for row in cursor.fetchall()]


def _insert(rows: list[_Row], *, actor_user) -> int:
    tier_id = entry_tier().pk
    version = current_privacy_version()
    # MEM-5: an imported member's first periodic re-review counts from the import (seed 002 二(二)3).
    next_review_on = next_review_date(confirmed_on=timezone.localdate(),
                                      interval_days=MemberSettings.get().review_interval_days)
    channel = Member.Channel.IMPORT
    actor_id = actor_user.pk if actor_user is not None else None
    actor_label = actor_user.get_username() if actor_user is not None else "import"
    new_numbers = iter(member_numbers_allocate(sum(1 for r in rows if not r.member_no)))
    _keep_sequence_ahead([r.member_no for r in rows if r.member_no])
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start:start + BATCH_SIZE]
        ids = allocate_ids(Member, len(batch))
        members = []
        for pk, r in zip(ids, batch, strict=True):
            c = r.cleaned
            members.append({
                "id": pk, "member_no": r.member_no or next(new_numbers), "status": Member.Status.ACTIVE,
                "name": c["name"], "gender": c.get("gender", Member.Gender.UNKNOWN), "birthday": c.get("birthday"),
                **(r.sealed or _seal(c)), "mobile_hash": r.mobile_hash, "id_number_hash": r.id_hash,
                "province": c.get("province", ""), "city": c.get("city", ""), "district": c.get("district", ""),
                "occupation": c.get("occupation", ""), "email": c.get("email", ""),
                "home_store_id": r.store.pk, "tier_id": tier_id, "channel": channel, "created_by_id": actor_id,
                "privacy_version": version, "marketing_consent": r.marketing,
                # The source system collected the ID number with the member's consent; it is recorded below.
                "id_number_consent": bool(c.get("id_number")), "next_review_on": next_review_on,
            })
        copy_insert(Member, members)
        consents = []
        for m in members:
            common = {"member_id": m["id"], "version": version, "channel": ConsentLog.Channel.IMPORT,
                      "actor_id": actor_id}
            consents.append({**common, "kind": ConsentLog.Kind.PRIVACY, "granted": True})
            consents.append({**common, "kind": ConsentLog.Kind.MARKETING, "granted": m["marketing_consent"]})
            if m["id_number_consent"]:
                consents.append({**common, "kind": ConsentLog.Kind.ID_NUMBER, "granted": True,
                                 "detail": "given in the source system, imported"})
        copy_insert(ConsentLog, consents)
        copy_insert(MemberChange, (
            {"member_id": m["id"], "field": "status", "old_value": "", "new_value": Member.Status.ACTIVE,
             "actor_id": actor_id, "actor_label": actor_label, "channel": channel}
            for m in members
        ))
    return len(rows)


def member_import(*, rows: Iterable[dict], store_default: Store | None, actor_user, dry_run: bool,
                  first_row: int = 2, workers: int = 1) -> ImportReport:
    """Check every row and, unless `dry_run` or any row is bad, import them all in one transaction.

    `actor_user` None means a command run by an operator on the server (no store scope). `workers` > 1
    prepares the rows (validation, hashes, encryption) in that many worker processes; the report is
    the same."""
    if workers < 1:
        raise ValidationFailed(_("The number of worker processes must be at least 1."), code="import_workers")
    if actor_user is not None:
        scope.require_perm(actor_user, "members.import_member")
        if store_default is not None:
            scope.require_store(actor_user, store_default)
    report = ImportReport(dry_run=dry_run)
    good = _check_rows(rows, store_default=store_default, actor_user=actor_user, first_row=first_row, report=report,
                       seal=not dry_run, workers=workers)
    for r in good:
        report.per_store[r.store.code] = report.per_store.get(r.store.code, 0) + 1
    if dry_run or report.errors:
        return report
    try:
        with transaction.atomic():
            report.imported = _insert(good, actor_user=actor_user)
            audit_record(
                actor=actor_user or "command", action=AuditLog.Action.IMPORT, field="members",
                detail=f"imported {report.imported} members: {report.per_store}",
            )
    except IntegrityError as exc:
        raise Conflict(
            _("A member with one of these numbers was registered while the file was being imported; "
              "nothing was imported, run the import again to see which row."),
            code="import_race",
        ) from exc
    return report


def member_import_file(*, content: bytes, filename: str, store_default: Store | None, actor_user,
                       dry_run: bool, workers: int = 1) -> ImportReport:
    """member_import on an uploaded or local file; an unreadable file is a report with one error."""
    try:
        rows = read_rows(content, file_format=file_format_for(filename))
    except ValidationFailed as exc:
        report = ImportReport(dry_run=dry_run)
        report.errors.append(RowError(1, "file", exc.message))
        return report
    return member_import(rows=rows, store_default=store_default, actor_user=actor_user, dry_run=dry_run,
                         workers=workers)
