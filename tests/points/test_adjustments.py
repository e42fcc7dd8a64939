"""Manual points adjustment at the desk with a second approver above a threshold (PTS-7)."""
import threading

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction

from core.errors import Conflict, NotFound, PermissionDenied
from points.errors import InsufficientPoints, PointsError
from points.models import Adjustment, Entry, PointsAccount, PointsConfig
from points.reconcile import reconcile
from points.services.adjustments import adjustment_approve, adjustment_reject, adjustment_request
from points.services.ledger import Source, credit
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def staff_with(*codenames, store=None, **kw) -> User:
    user = make_staff(None, store=store, **kw)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="points", codename__in=codenames))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def desk():
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    with transaction.atomic():
        credit(member=member, points=3000, idem_key=f"seed:{member.pk}", source=Source(reason="seed"))
    return {
        "store": store, "member": member,
        "clerk": staff_with("add_adjustment", store=store),
        "manager": staff_with("add_adjustment", "approve_adjustment", store=store),
    }


def test_small_adjustment_is_applied_at_once(desk):
    """PTS-7: within the threshold (default 1000) no second approver is needed."""
    member, clerk = desk["member"], desk["clerk"]
    plus = adjustment_request(member=member, points=1000, reason="积分补录 POS 离线", staff=clerk)
    minus = adjustment_request(member=member, points=-300, reason="重复积分冲正", staff=clerk)
    assert plus.status == minus.status == Adjustment.Status.APPLIED
    assert plus.entry.kind == Entry.Kind.ADJUSTMENT and plus.entry.points == 1000 and plus.entry.staff == clerk
    assert minus.entry.points == -300 and minus.entry.reason == "重复积分冲正"
    assert balance(member) == 3700 and not reconcile()
    assert member.notices.filter(kind="points_adjusted").count() == 2


def test_adjustment_above_threshold_waits_for_a_second_approver(desk):
    """PTS-7: above the configured size it needs a second approver; the requester cannot approve."""
    member, clerk, manager = desk["member"], desk["clerk"], desk["manager"]
    adj = adjustment_request(member=member, points=1001, reason="大额补偿", staff=manager)
    assert adj.status == Adjustment.Status.PENDING and adj.entry is None and balance(member) == 3000
    with pytest.raises(PermissionDenied) as exc:
        adjustment_approve(adjustment=adj, approver=manager)
    assert exc.value.code == "same_approver"
    with pytest.raises(PermissionDenied) as exc:
        adjustment_approve(adjustment=adj, approver=clerk)  # no approve permission
    assert exc.value.code == "permission"
    second = staff_with("approve_adjustment", store=desk["store"])
    adj = adjustment_approve(adjustment=adj, approver=second)
    assert adj.status == Adjustment.Status.APPLIED and adj.approved_by == second and balance(member) == 4001
    with pytest.raises(Conflict) as exc:
        adjustment_approve(adjustment=adj, approver=second)
    assert exc.value.code == "adjustment_decided" and balance(member) == 4001
    assert not reconcile()


def test_threshold_is_configurable(desk):
    PointsConfig.objects.filter(pk=1).update(adjustment_approval_threshold=100)
    adj = adjustment_request(member=desk["member"], points=-101, reason="x", staff=desk["clerk"])
    assert adj.status == Adjustment.Status.PENDING


def test_rejection_needs_a_reason_and_changes_nothing(desk):
    adj = adjustment_request(member=desk["member"], points=5000, reason="补偿", staff=desk["clerk"])
    with pytest.raises(PointsError):
        adjustment_reject(adjustment=adj, approver=desk["manager"], reason=" ")
    adj = adjustment_reject(adjustment=adj, approver=desk["manager"], reason="无依据")
    assert adj.status == Adjustment.Status.REJECTED and adj.reject_reason == "无依据"
    assert balance(desk["member"]) == 3000
    with pytest.raises(Conflict):
        adjustment_approve(adjustment=adj, approver=desk["manager"])


def test_adjustment_needs_reason_and_non_zero_points(desk):
    with pytest.raises(PointsError) as exc:
        adjustment_request(member=desk["member"], points=0, reason="", staff=desk["clerk"])
    assert set(exc.value.fields) == {"points", "reason"}
    assert not Adjustment.objects.exists()


def test_deduction_never_overdraws(desk):
    """PTS-7 / PTS-9: a deduction larger than the balance is refused, also at approval time."""
    PointsConfig.objects.filter(pk=1).update(adjustment_approval_threshold=5000)
    with pytest.raises(InsufficientPoints):
        adjustment_request(member=desk["member"], points=-3001, reason="x", staff=desk["clerk"])
    assert not Adjustment.objects.exists()
    PointsConfig.objects.filter(pk=1).update(adjustment_approval_threshold=1000)
    adjustment_request(member=desk["member"], points=-900, reason="y", staff=desk["clerk"])
    adj = adjustment_request(member=desk["member"], points=-2500, reason="z", staff=desk["clerk"])
    with pytest.raises(InsufficientPoints):
        adjustment_approve(adjustment=adj, approver=desk["manager"])
    adj.refresh_from_db()
    assert adj.status == Adjustment.Status.PENDING and balance(desk["member"]) == 2100 and not reconcile()


def test_staff_act_only_within_their_store_and_with_permission(desk):
    """MEM-9: out-of-scope members look missing; no permission, no adjustment."""
    outsider = staff_with("add_adjustment", "approve_adjustment", store=StoreFactory())
    with pytest.raises(NotFound):
        adjustment_request(member=desk["member"], points=10, reason="x", staff=outsider)
    adj = adjustment_request(member=desk["member"], points=2000, reason="x", staff=desk["clerk"])
    with pytest.raises(NotFound):
        adjustment_approve(adjustment=adj, approver=outsider)
    with pytest.raises(PermissionDenied):
        adjustment_request(member=desk["member"], points=10, reason="x", staff=make_staff(None, store=desk["store"]))


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_apply_the_adjustment_once():
    """PTS-7: the adjustment row is locked; a concurrent second approval is refused."""
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    clerk = staff_with("add_adjustment", store=store)
    approvers = [staff_with("approve_adjustment", store=store) for _ in range(4)]
    adj = adjustment_request(member=member, points=5000, reason="补偿", staff=clerk)
    barrier = threading.Barrier(4)
    results = [None] * 4

    def approve(i):
        try:
            barrier.wait()
            results[i] = adjustment_approve(adjustment=adj, approver=approvers[i])
        except Exception as exc:  # noqa: BLE001
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Adjustment) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 3
    assert balance(member) == 5000 and Entry.objects.filter(member=member).count() == 1
    assert not reconcile()
