"""Model-based property test of the ledger (issue 14 "Done means"; PTS-1, PTS-4, PTS-5, PTS-6c, PTS-7).

Hypothesis drives random sequences of the real services — till purchases paid in cash, by coupon in part,
or in part by a committed points offset; partial and full refunds; retries of the same purchase and refund;
manual adjustments; expiry runs — for one fresh member per example, against a small model of the rules:

- a purchase earns floor(amount paid other than coupon and points) (1 point per yuan, no campaign);
- a points offset spends its points; a refund gives back round-half-up(offset × refunded share) of them
  (the refund completing the bill gives back the rest) and reverses floor(earned × refunded share) of what
  the order earned (all of it on the completing refund), less what earlier refunds reversed;
- new points pay an outstanding debt first; a reversal the balance cannot cover becomes debt (the DEBT
  policy); a retry changes nothing; an expiry run within the validity expires nothing.

After every step: the balance and debt equal the model's, the balance equals the live lots' remaining
points, and points_reconcile finds nothing."""
import datetime as dt
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.jobs import run_job
from members import roles
from points.models import Lot, PointsAccount
from points.reconcile import reconcile
from points.services.adjustments import adjustment_request
from points.services.purchases import purchase_post, refund_post
from points.services.redemption import offset_commit
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


def _share(points: int, part: Decimal, whole: Decimal, rounding) -> int:
    return int((Decimal(points) * part / whole).to_integral_value(rounding=rounding))


class LedgerModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example in its own savepoint, rolled back in teardown: examples do not see each other.
        self._example = transaction.atomic()
        self._example.__enter__()
        self.store = StoreFactory()
        self.member = MemberFactory(home_store=self.store)
        self.staff = make_staff(roles.OPERATIONS_MANAGER, store=self.store)
        self.balance, self.debt = 0, 0
        self.orders: dict[str, dict] = {}
        self.n = 0

    # ---------------------------------------------------------------- the model's arithmetic

    def _gain(self, points: int) -> None:
        paid = min(self.debt, points)
        self.debt -= paid
        self.balance += points - paid

    def _lose(self, points: int) -> None:
        taken = min(self.balance, points)
        self.balance -= taken
        self.debt += points - taken

    def _post(self, no: str, bill: int, tenders: list[dict]):
        at = timezone.now() - dt.timedelta(minutes=5)
        return purchase_post(store=self.store, order_no=no, member=self.member, occurred_at=at,
                             lines=[{"brand": "B", "category": "服装", "amount": str(bill)}], tenders=tenders)

    # ---------------------------------------------------------------- rules

    @rule(bill=st.integers(1, 2000), coupon=st.sampled_from([0, 0, 20, 50]))
    def purchase(self, bill, coupon):
        coupon = min(coupon, bill)
        self.n += 1
        no = f"P{self.n}"
        tenders = [{"type": "wechat", "amount": str(bill - coupon)}]
        if coupon:
            tenders.append({"type": "coupon", "amount": str(coupon)})
        result = self._post(no, bill, tenders)
        assert result.created and result.purchase.points_earned == bill - coupon
        self._gain(bill - coupon)
        self.orders[no] = {"bill": Decimal(bill), "earned": bill - coupon, "refunded": Decimal(0), "reversed": 0,
                           "offset": 0, "returned": 0, "tenders": tenders, "refunds": 0}

    @precondition(lambda self: self.balance >= 100)
    @rule(bill=st.integers(20, 2000), share=st.floats(0.05, 1.0))
    def purchase_with_points_offset(self, bill, share):
        self.n += 1
        no = f"P{self.n}"
        # at most a fifth of the bill, in whole yuan at 100 points a yuan (the default cap and rate)
        points = min(int(self.balance * share) // 100, bill // 5) * 100
        if points <= 0:
            return
        with transaction.atomic():
            offset_commit(member=self.member, store=self.store, order_no=no, points=points,
                          bill_amount=Decimal(bill))
        self.balance -= points
        cash = bill - points // 100
        tenders = [{"type": "cash", "amount": str(cash)}, {"type": "points", "amount": str(points // 100)}]
        result = self._post(no, bill, tenders)
        assert result.purchase.points_earned == cash
        self._gain(cash)
        self.orders[no] = {"bill": Decimal(bill), "earned": cash, "refunded": Decimal(0), "reversed": 0,
                           "offset": points, "returned": 0, "tenders": tenders, "refunds": 0}

    @precondition(lambda self: any(o["refunded"] < o["bill"] for o in self.orders.values()))
    @rule(data=st.data(), part=st.floats(0.01, 1.0))
    def refund(self, data, part):
        open_orders = sorted(no for no, o in self.orders.items() if o["refunded"] < o["bill"])
        no = data.draw(st.sampled_from(open_orders))
        o = self.orders[no]
        left = o["bill"] - o["refunded"]
        amount = max(Decimal("0.01"), (left * Decimal(str(part))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))
        o["refunds"] += 1
        purchase = self.member.purchases.get(order_no=no)
        result = refund_post(store=self.store, refund_no=f"R-{no}-{o['refunds']}", purchase=purchase, amount=amount,
                             occurred_at=timezone.now())
        assert result.created
        o["refunded"] += amount
        full = o["refunded"] == o["bill"]
        if o["offset"]:
            due = o["offset"] if full else _share(o["offset"], o["refunded"], o["bill"], ROUND_HALF_UP)
            if due > o["returned"]:
                self._gain(due - o["returned"])
                o["returned"] = due
        target = o["earned"] if full else _share(o["earned"], o["refunded"], o["bill"], ROUND_FLOOR)
        self._lose(target - o["reversed"])
        o["reversed"] = target
        assert result.refund.points_reversed == result.refund.points_reversed  # itemised on the row
        o["last_refund"] = (f"R-{no}-{o['refunds']}", amount)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def retry(self, data):
        """The till retries a purchase (same body) or the last refund of an order: nothing changes."""
        no = data.draw(st.sampled_from(sorted(self.orders)))
        o = self.orders[no]
        purchase = self.member.purchases.get(order_no=no)
        again = purchase_post(store=self.store, order_no=no, member=self.member, occurred_at=purchase.occurred_at,
                              lines=purchase.lines, tenders=o["tenders"])
        assert not again.created
        if "last_refund" in o:
            refund_no, amount = o["last_refund"]
            first = purchase.refunds.get(refund_no=refund_no)
            repeat = refund_post(store=self.store, refund_no=refund_no, purchase=purchase, amount=amount,
                                 occurred_at=first.occurred_at)
            assert not repeat.created

    @rule(points=st.integers(-300, 300).filter(lambda p: p != 0))
    def adjustment(self, points):
        if points < 0 and -points > self.balance:
            return
        adjustment_request(member=self.member, points=points, reason="模型测试", staff=self.staff)
        if points > 0:
            self._gain(points)
        else:
            self.balance += points

    @rule()
    def expiry_run(self):
        run_job("expire_points", date=timezone.localdate())  # nothing is due within the validity

    def teardown(self):
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # ---------------------------------------------------------------- after every step

    @invariant()
    def ledger_agrees(self):
        account = PointsAccount.objects.filter(member=self.member).first()
        balance, debt = (account.balance, account.debt) if account else (0, 0)
        assert (balance, debt) == (self.balance, self.debt)
        live = Lot.objects.filter(member=self.member, remaining__gt=0).aggregate(s=Sum("remaining"))["s"] or 0
        assert live == balance
        assert reconcile() == []


def test_random_sequences_of_ledger_operations_agree_with_the_model():
    run_state_machine_as_test(LedgerModel, settings=settings(
        max_examples=12, stateful_step_count=12, deadline=None, derandomize=True, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
