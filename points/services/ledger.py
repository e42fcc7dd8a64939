"""The ledger's primitives: credit (a new lot), consume (spend / reverse / settle, first-expiring-first)
and the per-member account row, all under one row lock per member.

Lock order, everywhere: the member's PointsAccount row first, then that member's lots (locked in id
order by points.locks, spent by expiry, id). Business objects (purchases, gift stock, coupons) are
locked by their callers BEFORE calling in here, always in the order: business object → account → lots.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db import router, transaction
from django.db.models import Sum
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from members.services import member_can_transact

from ..errors import InsufficientPoints, MemberCannotTransact, PointsError
from ..locks import account_credit_lock, account_lock, live_lots_lock
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

    `expires_on` overrides the validity and makes the lot spendable at once: points given back
    (`give_back`) keep the expiry of the lot they were spent from and were spendable already.
    `fresh=True` says the caller created the event in this transaction, so no entry can exist yet."""
    assert transaction.get_connection().in_atomic_block, "credit() must run inside a transaction"
    if points <= 0:
        raise PointsError(_("Points to credit must be positive."))
    if not fresh and (entry := existing_entry(idem_key)):
        return entry
    config = config or PointsConfig.get()
    account = account_credit_lock(member.pk, points, at=timezone.now())  # balance already includes the points
    earned_on = earned_on or timezone.localdate()
    entry = _entry(account, kind=kind, points=points, debt_delta=0, idem_key=idem_key, source=source)
    lot = Lot.objects.create(
        member_id=member.pk, entry=entry, points=points, remaining=points, earned_on=earned_on,
        available_on=earned_on if expires_on else earned_on + dt.timedelta(days=config.pending_days),
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


@dataclass
class GivenBack:
    """What `give_back` did: the entries (one per source lot), the points given back as lots, and the
    points not given back because their expiry had passed and the grace period is 0."""

    entries: list[Entry] = field(default_factory=list)
    points: int = 0
    lapsed: int = 0


def spent_slice(spent: Entry, *, start: int, count: int) -> list[tuple[Lot, int]]:
    """Points `start` .. `start + count` of what the consuming entry `spent` took, lot by lot in the
    order it spent them (first-expiring-first: expiry, lot id), from its Consumption rows."""
    pieces, pos, end = [], 0, start + count
    for row in (Consumption.objects.filter(entry=spent).select_related("lot")
                .order_by("lot__expires_on", "lot_id", "id")):
        lo, hi = max(pos, start), min(pos + row.points, end)
        if hi > lo:
            pieces.append((row.lot, hi - lo))
        pos += row.points
        if pos >= end:
            break
    return pieces


def give_back(
    *, member: Member, spent: Entry | None, points: int, idem_key: str, source: Source, already: int = 0,
    config: PointsConfig | None = None,
) -> GivenBack:
    """Give back `points` of what the consuming entry `spent` took (gift order cancelled or returned,
    offset voided, offset share of a refund: PTS-5, PTS-6).

    Rule: each source lot's share comes back as its own new lot (kind "returned") with THAT lot's
    expiry — never the latest expiry of all, so no validity is gained — and spendable at once.
    A share whose source lot expired meanwhile comes back valid for `PointsConfig.give_back_grace_days`
    days from today (default 30); with 0 it is not given back and is counted in `lapsed` (the caller
    records it). `already` says how much of `spent` was given back before (partial refunds), so the
    next slice is given and no point comes back twice. Idempotent: each piece's key is
    `<idem_key>:<source lot id>`. Without the spent entry (history from before lots were tracked), the
    points come back as one lot with the standard validity."""
    result = GivenBack()
    if points <= 0:
        return result
    config = config or PointsConfig.get()
    if spent is None or not spent.consumptions.exists():
        result.entries.append(credit(member=member, points=points, idem_key=idem_key, source=source,
                                     kind=Entry.Kind.RETURNED, config=config))
        result.points = points
        return result
    today = timezone.localdate()
    for lot, share in spent_slice(spent, start=already, count=points):
        expires_on = lot.expires_on
        if expires_on < today:
            if not config.give_back_grace_days:
                result.lapsed += share
                continue
            expires_on = today + dt.timedelta(days=config.give_back_grace_days)
        result.entries.append(credit(member=member, points=share, idem_key=f"{idem_key}:{lot.pk}", source=source,
                                     kind=Entry.Kind.RETURNED, config=config, expires_on=expires_on))
        result.points += share
    return result


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
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the new row, or None when a row with the same unique
    key exists or is being inserted by a concurrent transaction (the INSERT waits for it; the caller
    then loads the winner). One statement and no savepoint, where catching the IntegrityError needed
    three. Other violations (a CHECK, a foreign key) still raise. Sends no model signals (none is
    connected to the idempotent rows made here)."""
    obj = model(**kwargs)
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
    rows = model._base_manager._insert([obj], fields=fields, returning_fields=meta.db_returning_fields,
                                       on_conflict=OnConflict.IGNORE)
    if not rows or rows[0] is None:
        return None
    for value, returned in zip(rows[0], meta.db_returning_fields, strict=True):
        setattr(obj, returned.attname, value)
    obj._state.adding, obj._state.db = False, router.db_for_write(model)
    return obj
