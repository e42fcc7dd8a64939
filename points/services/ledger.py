"""The ledger's primitives: credit (a new lot), consume (spend / reverse / settle, first-expiring-first)
and the per-member account row, all under one row lock per member.

Lock order, everywhere: the member's PointsAccount row first, then that member's lots (locked in id
order by points.locks, spent by expiry, id). Business objects (purchases, gift stock, coupons) are
locked by their callers BEFORE calling in here, always in the order: business object → account → lots.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from members.services import member_can_transact

from ..errors import InsufficientPoints, MemberCannotTransact, PointsError
from ..locks import account_lock, live_lots_lock
from ..models import Consumption, Entry, Lot, PointsAccount, PointsConfig


@dataclass(frozen=True)
class Source:
    """Where an entry comes from (PTS-8: history with source)."""

    store_id: int | None = None
    purchase_id: int | None = None
    refund_id: int | None = None
    staff_id: int | None = None
    job_run_id: int | None = None
    reason: str = ""
    ref: str = ""
    campaigns: tuple = ()


def require_can_transact(member: Member) -> None:
    if not member_can_transact(member):
        raise MemberCannotTransact(
            _("Member %(no)s is %(status)s and cannot earn or redeem points.")
            % {"no": member.member_no, "status": member.get_status_display()}
        )


def existing_entry(idem_key: str) -> Entry | None:
    return Entry.objects.filter(idem_key=idem_key).first()


def _entry(account: PointsAccount, *, kind: str, points: int, debt_delta: int, idem_key: str, source: Source) -> Entry:
    return Entry.objects.create(
        member_id=account.member_id, kind=kind, points=points, debt_delta=debt_delta,
        balance_after=account.balance, idem_key=idem_key, store_id=source.store_id,
        purchase_id=source.purchase_id, refund_id=source.refund_id, staff_id=source.staff_id,
        job_run_id=source.job_run_id, reason=source.reason[:200], source_ref=source.ref[:64],
        campaigns=list(source.campaigns),
    )


def credit(
    *, member: Member, points: int, idem_key: str, source: Source, kind: str = Entry.Kind.CREDIT,
    earned_on: dt.date | None = None, config: PointsConfig | None = None, expires_on: dt.date | None = None,
    fresh: bool = False,
) -> Entry:
    """Add a lot of `points` (> 0). An outstanding debt is paid first from the new points.

    `expires_on` overrides the validity (points given back keep the expiry of what was spent).
    `fresh=True` says the caller created the event in this transaction, so no entry can exist yet."""
    assert transaction.get_connection().in_atomic_block, "credit() must run inside a transaction"
    if points <= 0:
        raise PointsError(_("Points to credit must be positive."))
    if not fresh and (entry := existing_entry(idem_key)):
        return entry
    config = config or PointsConfig.get()
    account = account_lock(member.pk)
    earned_on = earned_on or timezone.localdate()
    account.balance += points
    entry = _entry(account, kind=kind, points=points, debt_delta=0, idem_key=idem_key, source=source)
    lot = Lot.objects.create(
        member_id=member.pk, entry=entry, points=points, remaining=points, earned_on=earned_on,
        available_on=earned_on + dt.timedelta(days=config.pending_days),
        expires_on=max(expires_on, earned_on) if expires_on else earned_on + relativedelta(months=config.expiry_months),
    )
    if account.debt:
        settle = min(account.debt, points)
        account.debt -= settle
        account.balance -= settle
        lot.remaining -= settle
        lot.save(update_fields=["remaining"])
        settlement = _entry(account, kind=Entry.Kind.DEBT_SETTLEMENT, points=-settle, debt_delta=-settle,
                            idem_key=f"{idem_key}:settle", source=source)
        Consumption.objects.create(entry=settlement, lot=lot, points=settle)
    account.save(update_fields=["balance", "debt", "updated_at"])
    return entry


def restored_expiry(spent: Entry | None) -> dt.date | None:
    """The latest expiry among the lots a debit consumed: points given back keep their validity
    (never a fresh period, never already past: at least today)."""
    if spent is None:
        return None
    latest = Consumption.objects.filter(entry=spent).aggregate(m=Max("lot__expires_on"))["m"]
    return max(latest, timezone.localdate()) if latest else None


def spendable(member: Member, *, on: dt.date | None = None) -> int:
    """Points the member can spend today: live lots past their hold and not expired."""
    on = on or timezone.localdate()
    return Lot.objects.filter(
        member_id=member.pk, remaining__gt=0, available_on__lte=on, expires_on__gte=on
    ).aggregate(s=Sum("remaining"))["s"] or 0


def consume(
    *, member: Member, points: int, idem_key: str, source: Source, kind: str = Entry.Kind.DEBIT,
    prefer_lot_ids: tuple[int, ...] = (), include_pending: bool = False, allow_short: bool = False,
) -> tuple[Entry | None, int]:
    """Take `points` from the member's lots, first-expiring-first (preferred lots first).

    Returns (entry, shortfall). Without `allow_short`, a shortfall raises InsufficientPoints and
    nothing changes. Expired lots are never spent, even if the nightly job has not run yet."""
    assert transaction.get_connection().in_atomic_block, "consume() must run inside a transaction"
    if points <= 0:
        raise PointsError(_("Points to spend must be positive."))
    if entry := existing_entry(idem_key):
        return entry, 0
    account = account_lock(member.pk)
    today = timezone.localdate()
    lots = live_lots_lock(member_id=member.pk, today=today, include_pending=include_pending)
    lots.sort(key=lambda lot: (lot.expires_on, lot.pk))  # locked in id order, spent first-expiring-first
    if prefer_lot_ids:
        lots.sort(key=lambda lot: lot.pk not in prefer_lot_ids)
    available = sum(lot.remaining for lot in lots)
    take_total = min(points, available)
    if take_total < points and not allow_short:
        raise InsufficientPoints(
            _("Not enough points: %(need)s needed, %(have)s available.") % {"need": points, "have": available}
        )
    if take_total == 0:
        return None, points
    account.balance -= take_total
    entry = _entry(account, kind=kind, points=-take_total, debt_delta=0, idem_key=idem_key, source=source)
    left = take_total
    consumptions = []
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        consumptions.append(Consumption(entry=entry, lot=lot, points=take))
    Lot.objects.bulk_update([c.lot for c in consumptions], ["remaining"])
    Consumption.objects.bulk_create(consumptions)
    account.save(update_fields=["balance", "updated_at"])
    return entry, points - take_total


def add_debt(*, member: Member, points: int, idem_key: str, source: Source) -> Entry:
    """Record points owed (refund of spent points under the debt policy); paid by future credits."""
    if entry := existing_entry(idem_key):
        return entry
    account = account_lock(member.pk)
    account.debt += points
    entry = _entry(account, kind=Entry.Kind.DEBT, points=0, debt_delta=points, idem_key=idem_key, source=source)
    account.save(update_fields=["debt", "updated_at"])
    return entry


def safe_create(model, **kwargs):
    """INSERT in a savepoint; on a unique violation return None (the caller loads the winner)."""
    try:
        with transaction.atomic():
            return model.objects.create(**kwargs)
    except IntegrityError:
        return None
