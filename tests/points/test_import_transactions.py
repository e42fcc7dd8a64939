"""import_transactions: historical purchases from CSV (TIER-2 history, PTS-9 idempotency)."""
import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from members.models import Member
from points.models import PointsAccount, Purchase
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy
from tiers.selectors import tier_rolling_for_member

# History of January to March 2026 is imported shortly after it happened.
pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-04-01T12:00+08:00")]

HEADER = "member_ref,store,order_no,datetime,amount_paid,brand,category\n"


def run(tmp_path, text, *args):
    path = tmp_path / "tx.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import_transactions", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def setup():
    store = StoreFactory(code="SH01")
    by_no = MemberFactory(home_store=store)
    by_mobile = MemberFactory(home_store=store, mobile="13900001111")
    return store, by_no, by_mobile


def good_rows(by_no):
    return (f"{by_no.member_no},SH01,H-1,2026-03-01T10:00:00,1200.00,LANCOME,化妆品\n"
            "13900001111,SH01,H-2,2026-03-02 15:30,800.50,,\n"
            f"{by_no.member_no},,H-3,2026-03-03T11:00:00+08:00,99.90,,\n")


def test_import_loads_history_without_points(tmp_path, setup):
    """TIER-2: imported purchases count in the rolling amount; no points are credited by default."""
    store, by_no, by_mobile = setup
    out = run(tmp_path, HEADER + good_rows(by_no), "--store-default", "SH01")
    assert "imported 3" in out and "bad 0" in out and "rows/s" in out
    p = Purchase.objects.get(store=store, order_no="H-1")
    assert p.member == by_no and p.amount_paid == Decimal("1200.00") and p.source == "import"
    assert timezone.localtime(p.occurred_at).hour == 10  # naive = Asia/Shanghai
    assert p.points_earned == 0 and not PointsAccount.objects.filter(member=by_no, balance__gt=0).exists()
    assert Purchase.objects.get(order_no="H-2").member == by_mobile
    assert tier_rolling_for_member(member=by_no, day=dt.date(2026, 3, 31)).amount == Decimal("1299.90")


def test_import_rerun_imports_nothing_twice(tmp_path, setup):
    """PTS-9: idempotent on (store, order_no); a re-run reports the rows as already imported."""
    _store, by_no, _ = setup
    run(tmp_path, HEADER + good_rows(by_no), "--store-default", "SH01")
    out = run(tmp_path, HEADER + good_rows(by_no), "--store-default", "SH01")
    assert "imported 0, already imported 3, bad 0" in out
    assert Purchase.objects.filter(source="import").count() == 3


def test_import_reports_bad_rows_and_imports_the_rest(tmp_path, setup):
    """Bad rows are listed with their line and reason; the good ones are imported."""
    store, by_no, _ = setup
    buy(by_no, store, "10.00", order_no="TILL-1")  # an existing till order with other content
    text = HEADER + (
        f"{by_no.member_no},SH01,OK-1,2026-01-05T10:00:00,50.00,,\n"     # line 2 ok
        "19999999999,SH01,B-1,2026-01-05T10:00:00,50.00,,\n"             # line 3 unknown member
        f"{by_no.member_no},NOPE,B-2,2026-01-05T10:00:00,50.00,,\n"      # line 4 unknown store
        f"{by_no.member_no},SH01,B-3,yesterday,50.00,,\n"                # line 5 bad datetime
        f"{by_no.member_no},SH01,B-4,2026-01-05T10:00:00,-3,,\n"         # line 6 negative
        f"{by_no.member_no},SH01,,2026-01-05T10:00:00,5.00,,\n"          # line 7 no order number
        f"{by_no.member_no},SH01,TILL-1,2026-01-05T10:00:00,77.00,,\n"   # line 8 conflicts with till order
        f"{by_no.member_no},SH01,OK-1,2026-01-06T10:00:00,51.00,,\n"     # line 9 same order, other content
    )
    out = run(tmp_path, text)
    assert "imported 1" in out and "bad 7" in out
    for line, word in [(3, "no member"), (4, "unknown store"), (5, "ISO"), (6, "positive"), (7, "missing order_no"),
                       (8, "different content"), (9, "different content")]:
        assert f"row {line}: " in out and word in out.split(f"row {line}: ")[1].splitlines()[0], (line, out)
    assert Purchase.objects.get(order_no="TILL-1").amount_paid == Decimal("10.00")


def test_import_with_points_credit(tmp_path, setup):
    """PTS-1: --credit-points posts each row through purchase_post; a re-run credits nothing twice."""
    _store, by_no, by_mobile = setup
    recent = (timezone.localtime() - dt.timedelta(days=2)).replace(tzinfo=None).isoformat(timespec="seconds")
    text = HEADER + f"{by_no.member_no},SH01,C-1,{recent},500.00,,\n13900001111,SH01,C-2,{recent},120.00,,\n"
    out = run(tmp_path, text, "--credit-points")
    assert "imported 2" in out
    assert PointsAccount.objects.get(member=by_no).balance == 500
    assert Purchase.objects.get(order_no="C-2").points_earned == 120
    out = run(tmp_path, text, "--credit-points")
    assert "imported 0, already imported 2" in out
    assert PointsAccount.objects.get(member=by_no).balance == 500


def test_import_with_points_refuses_inactive_member(tmp_path, setup):
    """MEM-5: points are credited only to active members; the row is reported."""
    _store, by_no, _ = setup
    Member.objects.filter(pk=by_no.pk).update(status=Member.Status.SUSPENDED)
    out = run(tmp_path, HEADER + f"{by_no.member_no},SH01,S-1,2026-01-05T10:00:00,50.00,,\n", "--credit-points")
    assert "bad 1" in out and "row 2:" in out


def test_import_requires_columns(tmp_path, setup):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="amount_paid"):
        run(tmp_path, "member_ref,store,order_no,datetime\n")
