"""Row locks in one place (core.locks): FOR UPDATE OF the row itself, several rows in pk order."""
import pathlib
import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.locks import lock_many, lock_one, lock_one_or_none
from members.locks import member_lock
from members.models import Member, Store, Tier
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "venv", "node_modules", "migrations", "tests", ".git"}


def test_select_for_update_appears_only_in_core_locks():
    """Every row lock goes through core.locks, so every lock is FOR UPDATE OF self in pk order."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts[:-1]) or rel == pathlib.Path("core/locks.py"):
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "select_for_update" in line:
                offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert not offenders, "lock through core.locks / <app>.locks instead:\n" + "\n".join(offenders)


@pytest.mark.django_db
def test_lock_many_locks_in_primary_key_order_whatever_order_is_asked():
    stores = [StoreFactory() for _ in range(3)]
    asked = [stores[2].pk, stores[0].pk, stores[1].pk]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = lock_many(Store.objects.order_by("-pk"), asked)
    assert [s.pk for s in locked] == sorted(asked)
    sql = queries.captured_queries[-1]["sql"]
    assert 'ORDER BY "members_store"."id" ASC' in sql
    assert sql.rstrip().endswith('FOR UPDATE OF "members_store"')


@pytest.mark.django_db
def test_lock_with_select_related_locks_only_the_row_itself():
    member = MemberFactory()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = member_lock(member.pk, with_tier=True)
    assert locked.tier.pk == member.tier_id  # fetched with the member, no extra query
    sql = queries.captured_queries[-1]["sql"]
    assert '"members_tier"' in sql and sql.rstrip().endswith('FOR UPDATE OF "members_member"')


@pytest.mark.django_db
def test_lock_one_raises_and_lock_one_or_none_returns_none_when_missing():
    with transaction.atomic():
        with pytest.raises(Store.DoesNotExist):
            lock_one(Store, 0)
        assert lock_one_or_none(Store, 0) is None
        assert lock_many(Store, []) == []


def _hold(fn, ready: threading.Event, release: threading.Event, errors: list):
    """Run fn inside a transaction on this thread's own connection and keep it open until released."""
    try:
        with transaction.atomic():
            fn()
            ready.set()
            release.wait(10)
    except Exception as exc:  # surfaced by the test
        errors.append(exc)
        ready.set()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_member_lock_leaves_the_shared_tier_row_free_for_other_members():
    """While member A's purchase transaction holds A's lock on the immediate-upgrade path
    (member_lock with its tier), member B of the same tier posts a purchase and upgrades at once,
    and the Tier row can be locked NOWAIT: the tier is not locked with the member."""
    silver = Tier.objects.get(code="silver")
    silver.immediate_upgrade = True
    silver.save()
    a, b = MemberFactory(), MemberFactory()
    assert a.tier_id == b.tier_id
    ready, release, errors = threading.Event(), threading.Event(), []
    holder = threading.Thread(target=_hold, args=(lambda: member_lock(a.pk, with_tier=True), ready, release, errors))
    holder.start()
    try:
        assert ready.wait(10) and not errors
        with pytest.raises(OperationalError), transaction.atomic():
            lock_one(Member, a.pk, nowait=True)  # A really is locked by the other transaction
        with transaction.atomic():
            assert lock_one(Tier, a.tier_id, nowait=True).pk == a.tier_id
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            buy(b, b.home_store, "5000.00", order_no="LOCK-B")
        assert Member.objects.get(pk=b.pk).tier.code == "silver"
    finally:
        release.set()
        holder.join(10)
    assert not errors
