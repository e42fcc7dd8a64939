"""The till purchase path made cheap (issue 17): its SQL statement count, the cached reference rows
(device, points config, campaigns) invalidated on save, the lean middleware stack of token calls,
and the idempotent insert without a savepoint."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core import reference_cache
from members.api_auth import device_create
from members.services import device_update
from points.models import Campaign, Entry, Lot, PointsAccount, PointsConfig, Purchase
from points.reconcile import reconcile
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T12:00+08:00")]

URL = "/api/v1/purchases/"
# Statements of a new till purchase once the reference rows are cached: member, BEGIN, existing order?,
# offset lock, purchase (ON CONFLICT), account upsert, entry, lot, tiers (immediate upgrade), COMMIT,
# balance. Before issue 17 it was 18 (device, config, campaigns, a savepoint pair, account lock + save).
MAX_QUERIES = 11


def body(member, order_no="POS-1", amount="680.00"):
    return {"member": {"card": member.member_no}, "order_no": order_no, "occurred_at": "2026-11-25T10:15:00+08:00",
            "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": amount}],
            "tenders": [{"type": "wechat", "amount": amount}]}


@pytest.fixture
def till():
    store = StoreFactory()
    device, token = device_create(name="Till 1", store=store)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    client.device, client.store = device, store
    return client


def test_new_purchase_costs_at_most_the_pinned_statements(till, django_assert_max_num_queries):
    member = MemberFactory()
    assert till.post(URL, body(member, "WARM"), format="json").status_code == 201  # reference rows cached
    with django_assert_max_num_queries(MAX_QUERIES):
        r = till.post(URL, body(member, "POS-2"), format="json")
    assert r.status_code == 201 and r.json()["balance"] == 1360
    with django_assert_max_num_queries(MAX_QUERIES):
        assert till.post(URL, body(member, "POS-2"), format="json").status_code == 200  # a retry
    with CaptureQueriesContext(connection) as queries:
        till.post(URL, body(member, "POS-3"), format="json")
    sql = [q["sql"] for q in queries.captured_queries]
    # The test's own transaction turns purchase_post's atomic block into one savepoint; no other.
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1, sql
    assert not [s for s in sql if "members_device" in s or "points_pointsconfig" in s or "points_campaign" in s], sql
    assert PointsAccount.objects.get(member=member).balance == 2040 and reconcile() == []


def test_revoked_device_is_refused_at_once_after_it_was_cached(till):
    member = MemberFactory()
    assert till.post(URL, body(member, "A"), format="json").status_code == 201
    device_update(device=till.device, staff=make_staff(chain_wide=True, is_superuser=True), name="Till 1", is_active=False)
    assert till.post(URL, body(member, "B"), format="json").status_code == 401


def test_device_saved_inactive_is_refused_and_store_change_is_seen(till):
    member = MemberFactory()
    assert till.post(URL, body(member, "A"), format="json").status_code == 201
    till.device.is_active = False
    till.device.save()
    assert till.post(URL, body(member, "B"), format="json").status_code == 401


def test_points_config_saved_in_the_admin_applies_to_the_next_purchase(till):
    member = MemberFactory()
    assert till.post(URL, body(member, "A"), format="json").status_code == 201
    config = PointsConfig.get()
    config.expiry_months, config.pending_days = 6, 3
    config.save()
    assert till.post(URL, body(member, "B"), format="json").status_code == 201
    lot = Lot.objects.get(entry__purchase__order_no="B")
    assert lot.expires_on == dt.date(2027, 5, 25) and lot.available_on == dt.date(2026, 11, 28)


def test_campaign_created_or_narrowed_applies_to_the_next_purchase(till):
    member = MemberFactory()
    assert till.post(URL, body(member, "A", "100.00"), format="json").json()["points_earned"] == 100
    campaign = Campaign.objects.create(name="双倍", starts_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                                       ends_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), multiplier=Decimal(2))
    assert till.post(URL, body(member, "B", "100.00"), format="json").json()["points_earned"] == 200
    campaign.stores.add(StoreFactory())  # now only another store's
    assert till.post(URL, body(member, "C", "100.00"), format="json").json()["points_earned"] == 100
    Campaign.objects.filter(pk=campaign.pk).delete()
    assert till.post(URL, body(member, "D", "100.00"), format="json").json()["points_earned"] == 100


def test_cached_copy_is_refreshed_when_another_process_bumps_the_version(settings):
    """Another process's save reaches this one through the version in Django's cache."""
    settings.REFERENCE_CACHE_CHECK_SECONDS = 0
    loads = []
    assert reference_cache.cached("test_ns", "k", lambda: loads.append(1) or "v1") == "v1"
    assert reference_cache.cached("test_ns", "k", lambda: "never") == "v1"
    from django.core.cache import cache

    cache.set(reference_cache._version_key("test_ns"), "from-another-process", timeout=None)
    assert reference_cache.cached("test_ns", "k", lambda: "v2") == "v2"
    assert reference_cache.cached("test_ns", "missing", lambda: None) is None
    assert reference_cache.cached("test_ns", "missing", lambda: "loaded") == "loaded"  # None was not kept


def test_token_call_takes_the_lean_stack_and_answers_in_chinese(till):
    member = MemberFactory()
    r = till.post(URL, body(member, "A"), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 201
    assert "Set-Cookie" not in r and "Accept-Language" not in r.get("Vary", "") and "Cookie" not in r.get("Vary", "")
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"
    wrong = till.post(URL, {**body(member, "B"), "tenders": [{"type": "cash", "amount": "1.00"}]}, format="json",
                      HTTP_ACCEPT_LANGUAGE="en")
    assert wrong.status_code == 400 and any("\u4e00" <= ch <= "\u9fff" for ch in wrong.json()["detail"])


def test_staff_session_on_the_api_keeps_the_full_stack():
    store = StoreFactory()
    client = APIClient()
    client.force_login(make_staff(store=store))
    member = MemberFactory()
    r = client.post(URL, {**body(member, "S-1"), "store": store.code}, format="json")
    assert r.status_code not in (401, 500), r.content  # the session authenticated the call (full stack)


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_insert_once_without_a_savepoint(till):
    """The idempotent INSERT … ON CONFLICT DO NOTHING: of two posts of one new order at the same time,
    one creates (201), the other waits for it and returns its result (200); one credit."""
    member = MemberFactory()
    barrier, statuses = threading.Barrier(2), []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=till._credentials["HTTP_AUTHORIZATION"])
        barrier.wait()
        statuses.append(client.post(URL, body(member, "RACE"), format="json").status_code)
        connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 201]
    purchase = Purchase.objects.get(order_no="RACE")
    assert Entry.objects.filter(purchase=purchase, kind=Entry.Kind.CREDIT).count() == 1
    assert reconcile() == []
