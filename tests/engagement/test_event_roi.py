"""Event budget, cost, lessons learned and ROI (seed 002 六 会员活动管理: 活动预算, 活动效果评估, 经验教训)
through the service, the outcome report and the desk pages."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from core.errors import ValidationFailed
from core.models import AuditLog
from engagement import selectors, services
from engagement.models import Event, Invitation
from members import roles
from points.models import Purchase
from tests.factories import MemberFactory, StoreFactory, make_staff

from .conftest import make_event

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]
_orders = itertools.count(1)


def _buy(member, at, paid, *, total=None, refunded="0"):
    n = next(_orders)
    return Purchase.objects.create(store=member.home_store, order_no=f"ROI{n}", member=member, occurred_at=at,
                                   amount_total=Decimal(total or paid), amount_paid=Decimal(paid),
                                   amount_refunded=Decimal(refunded), request_hash=f"roi{n}")


def _attended_event(n_attendees=2, **kw):
    """An event starting in 30 minutes with n invited members signed up and checked in, and one more
    invited member who signed up but did not come."""
    store = StoreFactory()
    event = make_event(store=store, capacity=10, starts_in=dt.timedelta(minutes=30), **kw)
    members = [MemberFactory(home_store=store) for _ in range(n_attendees + 1)]
    Invitation.objects.bulk_create([Invitation(event=event, member=m) for m in members])
    regs = [services.event_sign_up(event=event, member=m) for m in members]
    for reg in regs[:n_attendees]:
        services.event_check_in(payload=services.check_in_payload(reg), event=event)
    return event, members


def test_roi_counts_attendees_net_paid_in_the_window_only():
    """Window 7 days after the end: a's 100 during the event, a's bill 100 paid 80 refunded 50 → net 40
    (points.net_paid: 80 × 50/100) three days later, b's 60 at 6 days 23 hours; not b's 500 at 8 days,
    not a's 999 before the start, not the absent member's 70. Sales 200.00, cost 150 → ROI 33.3 %."""
    event, (a, b, absent) = _attended_event()
    _buy(a, event.starts_at + dt.timedelta(minutes=20), "100.00")
    _buy(a, event.ends_at + dt.timedelta(days=3), "80.00", total="100.00", refunded="50.00")
    _buy(b, event.ends_at + dt.timedelta(days=6, hours=23), "60.00")
    _buy(b, event.ends_at + dt.timedelta(days=8), "500.00")
    _buy(a, event.starts_at - dt.timedelta(hours=1), "999.00")
    _buy(absent, event.starts_at + dt.timedelta(minutes=20), "70.00")
    staff = make_staff(roles.OPERATIONS_MANAGER, store=event.store)
    services.event_outcome_record(event=event, actor=staff, budget=Decimal("120.00"), cost=Decimal("150.00"),
                                  sales_window_days=7, lessons_learned="签到台人手不足",
                                  now=event.ends_at + dt.timedelta(hours=1))
    event.refresh_from_db()
    report = selectors.event_outcome(event, now=event.ends_at + dt.timedelta(days=10))
    assert (report["sales_amount"], report["sales_orders"]) == (Decimal("100.00"), 1)
    assert (report["window_sales"], report["window_orders"], report["window_buyers"]) == (Decimal("200.00"), 3, 2)
    assert (report["budget"], report["cost"], report["cost_vs_budget"]) == (
        Decimal("120.00"), Decimal("150.00"), Decimal("30.00"))
    assert report["roi"] == Decimal("33.3") and report["window_open"] is False

    services.event_outcome_record(event=event, actor=staff, budget=Decimal("120.00"), cost=Decimal("150.00"),
                                  sales_window_days=10, lessons_learned="签到台人手不足",
                                  now=event.ends_at + dt.timedelta(hours=2))
    event.refresh_from_db()
    report = selectors.event_outcome(event, now=event.ends_at + dt.timedelta(days=1))
    assert report["window_sales"] == Decimal("700.00") and report["roi"] == Decimal("366.7")
    assert report["window_open"] is True


def test_roi_is_empty_without_cost_and_sales_of_many_events_in_one_query(django_assert_num_queries):
    event, (a, _b, _c) = _attended_event()
    other, (x, _y, _z) = _attended_event()
    quiet = make_event(store=StoreFactory())
    _buy(a, event.starts_at + dt.timedelta(minutes=5), "10.00")
    _buy(x, other.starts_at + dt.timedelta(minutes=5), "20.00")
    with django_assert_num_queries(1):
        sales = selectors.event_sales([event, other, quiet])
    assert {pk: s.window for pk, s in sales.items()} == {
        event.pk: Decimal("10.00"), other.pk: Decimal("20.00"), quiet.pk: Decimal("0.00")}
    assert selectors.event_roi(sales=Decimal("10.00"), cost=None) is None
    assert selectors.event_roi(sales=Decimal("10.00"), cost=Decimal("0.00")) is None


def test_outcome_record_refuses_bad_input_and_audits_each_change():
    event, _members = _attended_event()
    staff = make_staff(roles.OPERATIONS_MANAGER, store=event.store)
    before_start = event.starts_at - dt.timedelta(minutes=10)
    after = event.ends_at + dt.timedelta(hours=1)
    bad = [
        ({"budget": Decimal("-1"), "cost": None, "sales_window_days": 7}, "bad_amount"),
        ({"budget": Decimal("1"), "cost": Decimal("10000000.01"), "sales_window_days": 7}, "bad_amount"),
        ({"budget": "1e3", "cost": None, "sales_window_days": 7}, "bad_amount"),
        ({"budget": Decimal("1.234"), "cost": None, "sales_window_days": 7}, "bad_amount"),
        ({"budget": None, "cost": None, "sales_window_days": 7}, "amount_required"),
        ({"budget": Decimal("1"), "cost": None, "sales_window_days": 91}, "bad_sales_window"),
        ({"budget": Decimal("1"), "cost": None, "sales_window_days": 7, "lessons_learned": "长" * 2001},
         "lessons_too_long"),
    ]
    for kwargs, code in bad:
        with pytest.raises(ValidationFailed) as err:
            services.event_outcome_record(event=event, actor=staff, now=after, **kwargs)
        assert err.value.code == code, kwargs
    with pytest.raises(ValidationFailed) as err:
        services.event_outcome_record(event=event, actor=staff, budget=Decimal("500"), cost=Decimal("1"),
                                      sales_window_days=7, now=before_start)
    assert err.value.code == "event_not_started"
    # The budget alone may be set before the event.
    services.event_outcome_record(event=event, actor=staff, budget=Decimal("500"), sales_window_days=7,
                                  now=before_start)
    services.event_outcome_record(event=event, actor=staff, budget=Decimal("500"), cost=Decimal("480.50"),
                                  sales_window_days=14, lessons_learned="提前一周短信提醒", now=after)
    services.event_outcome_record(event=event, actor=staff, budget=Decimal("500"), cost=Decimal("480.50"),
                                  sales_window_days=14, lessons_learned="提前一周短信提醒", now=after)  # no change
    event.refresh_from_db()
    assert (event.budget, event.cost, event.sales_window_days, event.lessons_learned) == (
        Decimal("500.00"), Decimal("480.50"), 14, "提前一周短信提醒")
    assert event.outcome_recorded_by == staff and event.outcome_recorded_at == after
    logs = list(AuditLog.objects.filter(field="event_outcome").order_by("pk").values_list("detail", flat=True))
    assert len(logs) == 2
    assert "budget: 0.00 → 500.00" in logs[0]
    assert "cost: None → 480.50" in logs[1] and "sales_window_days: 7 → 14" in logs[1]


@pytest.mark.urls("tests.engagement.urls")
def test_desk_records_outcome_and_lists_roi_within_store_scope(client, django_assert_max_num_queries):
    event, (a, _b, _c) = _attended_event()
    _buy(a, event.starts_at + dt.timedelta(minutes=5), "300.00")
    Event.objects.filter(pk=event.pk).update(starts_at=event.starts_at - dt.timedelta(days=1),
                                             ends_at=event.ends_at - dt.timedelta(days=1))
    url = reverse("engagement_desk:event_outcome", args=[event.pk])
    form = {"budget": "250.00", "cost": "200.00", "sales_window_days": "7", "lessons_learned": "场地偏小"}

    client.force_login(make_staff(roles.FRONT_DESK, store=event.store))  # sees the event, may not record
    assert client.post(url, form).status_code == 403
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=StoreFactory()))  # another store
    assert client.post(url, form).status_code == 404

    manager = make_staff(roles.OPERATIONS_MANAGER, store=event.store)
    client.force_login(manager)
    refused = client.post(url, {**form, "cost": "-5"})
    assert refused.status_code == 400 and not Event.objects.get(pk=event.pk).cost
    done = client.post(url, form)
    assert done.status_code == 302
    page = client.get(reverse("engagement_desk:event", args=[event.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "场地偏小" in body
    assert 'id="r-window-sales">¥300.00 (1)' in body and 'id="r-roi">50.0 %' in body

    for _ in range(3):
        make_event(store=event.store)
    with django_assert_max_num_queries(8):
        listing = client.get(reverse("engagement_desk:events"))
    assert listing.status_code == 200 and "50.0 %" in listing.content.decode()
