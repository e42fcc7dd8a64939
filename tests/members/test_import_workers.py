"""Member import with worker processes (issue 17): validation, hashes and encryption in forked workers,
the report row for row and in the same order as in one process; the command path uses them."""
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import crypto
from core.errors import ValidationFailed
from members import importing
from members.importing import member_import, member_import_file
from members.models import ConsentLog, Member
from tests.factories import MemberFactory, StoreFactory

from .test_import import GOOD_ID, csv_bytes, id_number, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(code="SH01", name="上海南京路店")


def messy_rows(n: int) -> list[dict]:
    """n rows with every kind of problem spread over many worker chunks: bad mobiles, duplicates of an
    earlier row (in another chunk), members already registered, unknown stores, future birthdays,
    children, bad consent, bad member numbers, bad ID check digits; the rest good."""
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    rows = []
    for i in range(n):
        mobile = f"138{i:08d}"
        kind = i % 13
        if kind == 1:
            rows.append(row(mobile="12345"))
        elif kind == 2 and i > 100:
            rows.append(row(mobile=f"138{i - 100:08d}"))  # same as a row 100 earlier
        elif kind == 3:
            rows.append(row(mobile="13900000001"))  # already a member
        elif kind == 4:
            rows.append(row(mobile=mobile, store_code="XX99"))
        elif kind == 5:
            rows.append(row(mobile=mobile, birthday=tomorrow, marketing_consent="也许"))
        elif kind == 6:
            rows.append(row(mobile=mobile, birthday="2020-01-01"))
        elif kind == 7:
            rows.append(row(mobile=mobile, member_no="12345"))
        elif kind == 8:
            rows.append(row(mobile=mobile, id_number=GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")))
        elif kind == 9:
            rows.append(row(mobile=mobile, id_number=id_number(f"110105199003{i % 28 + 1:02d}{i % 1000:03d}"),
                            birthday=""))
        else:
            rows.append(row(mobile=mobile, name=f"会员{i}", gender="女" if i % 2 else "男"))
    return rows


def _report(r):
    return (r.total, r.valid, r.bad_rows, r.imported, [(e.row, e.field, e.message) for e in r.errors], r.per_store,
            r.as_text())


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(importing, "WORKER_CHUNK", 37)  # many chunks, out of step with the error pattern


def test_the_report_is_the_same_with_worker_processes(store, small_chunks):
    MemberFactory(mobile="13900000001")
    rows = messy_rows(600)
    one = member_import(rows=rows, store_default=None, actor_user=None, dry_run=True)
    two = member_import(rows=rows, store_default=None, actor_user=None, dry_run=True, workers=2)
    three = member_import(rows=rows, store_default=None, actor_user=None, dry_run=False, workers=3)
    assert one.errors and len({e.field for e in one.errors}) >= 6
    assert _report(two) == _report(one)
    assert _report(three)[:3] == _report(one)[:3] and _report(three)[4] == _report(one)[4]
    assert three.imported == 0 and not Member.objects.filter(mobile_hash=crypto.lookup_hash("13800000000")).exists()


def test_an_import_with_workers_stores_what_one_process_stores(store, small_chunks):
    rows = [row(mobile=f"137{i:08d}", id_number=id_number(f"110105199003{i % 28 + 1:02d}{i:03d}") if i % 3 == 0
                else "", birthday="", address=f"人民路{i}号") for i in range(200)]
    report = member_import(rows=rows, store_default=None, actor_user=None, dry_run=False, workers=2)
    assert report.ok and report.imported == 200
    assert ConsentLog.objects.count() == 2 * 200 + 67
    for i in (0, 1, 99, 199):
        m = Member.objects.get(mobile_hash=crypto.lookup_hash(f"137{i:08d}"))
        assert crypto.decrypt(m.mobile_enc) == f"137{i:08d}" and m.mobile_masked == crypto.mask_mobile(f"137{i:08d}")
        assert crypto.decrypt(m.address_enc) == f"人民路{i}号"
        if i % 3 == 0:
            assert crypto.decrypt(m.id_number_enc) == rows[i]["id_number"] and m.id_number_consent
            assert m.birthday == dt.date(1990, 3, i % 28 + 1)


def test_missing_column_is_reported_before_any_worker_starts(store):
    content = csv_bytes([row()], headers=["name", "x"] + ["y"] * 12)
    report = member_import_file(content=content, filename="a.csv", store_default=None, actor_user=None,
                                dry_run=True, workers=2)
    assert [(e.row, e.field) for e in report.errors] == [(1, "file")]


def test_workers_below_one_is_refused(store):
    with pytest.raises(ValidationFailed):
        member_import(rows=[row()], store_default=None, actor_user=None, dry_run=True, workers=0)


def test_the_command_imports_with_workers(store, tmp_path, small_chunks):
    rows = [row(mobile=f"136{i:08d}") for i in range(120)]
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes(rows))
    out = io.StringIO()
    call_command("import_members", str(path), "--commit", "--workers", "2", stdout=out)
    assert Member.objects.count() == 120
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([*rows[:3], row(mobile="12345")]))
    with pytest.raises(CommandError):
        call_command("import_members", str(bad), "--workers", "2", stdout=io.StringIO())
