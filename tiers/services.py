"""The tier engine (TIER-2..5): every rule that moves a member between tiers lives here.

- Nightly evaluation (`tiers_evaluate`) for a closed business day D, set-wise in SQL per batch of
  member ids: upgrade to the highest tier whose amount (or visits) threshold the rolling 12 months
  reach; downgrade one step at the member's yearly evaluation date if the rolling amount is below the
  current tier's retention threshold, never while protected, never below an active manual floor.
  Changes are effective D+1. The member's tier field flips when the job commits: the job runs just
  after midnight for D = yesterday (see tiers.jobs), so "effective next day" is also when it applies.
- Immediate upgrade on the purchase that crosses an `immediate_upgrade` tier's threshold.
- Tiers whose `confirmation` is manual get a TierProposal instead of a change; approving applies it
  through `_apply_change`, the one place that changes a member's tier.
- A manual grant sets a floor with an end date.

Every change writes TierChange in the same transaction and announces itself once through
messaging (kind "tier_change", ref = the TierChange id).

Lock order: the member row first, then that member's pending proposal. Purchases lock the points
account before calling the immediate upgrade (account → member); nothing here locks an account.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from evaluation.purchase_summary import purchase_summary_refresh
from members import scope
from members.locks import member_lock
from members.models import Member, Tier
from messaging.models import Notice
from messaging.services import notify_member, notify_members_bulk

from .locks import tier_proposal_lock
from .models import ChangeKind, TierChange, TierProposal
from .selectors import SOURCE_SUMMARY, rolling_stats_sql, rolling_window_params, tier_list, tier_rolling_for_member

BATCH_MEMBERS = 20_000
NOTICE_KIND = "tier_change"


# ---------------------------------------------------------------- the rules


def tier_qualifies(tier: Tier, *, amount: Decimal, visits: int) -> bool:
    """Upgrade threshold (TIER-2): the amount threshold when set (> 0), or the visits threshold when
    set; reaching either qualifies. A tier with neither is never reached automatically."""
    return bool((tier.upgrade_amount > 0 and amount >= tier.upgrade_amount)
                or (tier.upgrade_visits is not None and visits >= tier.upgrade_visits))


def protected_until(tier: Tier, effective_on: dt.date) -> dt.date:
    """Last protected day: `protection_months` after the change, inclusive of the effective day."""
    return effective_on + relativedelta(months=tier.protection_months) - dt.timedelta(days=1)


def _evaluation_month_days(day: dt.date) -> tuple[str, str]:
    """Members whose yearly evaluation falls on `day`; 29 February is evaluated on 28 February in
    other years."""
    md = day.strftime("%m-%d")
    if md == "02-28" and not calendar.isleap(day.year):
        return md, "02-29"
    return md, md


def _notice_text(to_tier_name: str, effective_on: dt.date) -> tuple[str, str]:
    return (_("Membership tier changed"),
            _("Your membership tier is now %(tier)s, effective %(date)s.")
            % {"tier": to_tier_name, "date": effective_on.isoformat()})


# ---------------------------------------------------------------- one change (the only writer)


def _apply_change(
    *, member: Member, to_tier: Tier, kind: str, effective_on: dt.date, reason: str = "",
    amount: Decimal | None = None, visits: int | None = None, decided_by=None,
    proposal: TierProposal | None = None, floor_until: dt.date | None = None, job_run_id: int | None = None,
) -> TierChange | None:
    """Change the (locked) member's tier, record it and announce it. None if this automatic change
    was already recorded (re-run)."""
    assert transaction.get_connection().in_atomic_block, "_apply_change() must run inside a transaction"
    try:
        with transaction.atomic():
            change = TierChange.objects.create(
                member=member, from_tier_id=member.tier_id, to_tier=to_tier, kind=kind, reason=reason[:500],
                rolling_amount=amount, rolling_visits=visits, effective_on=effective_on, floor_until=floor_until,
                decided_by=decided_by, proposal=proposal, job_run_id=job_run_id,
            )
    except IntegrityError:
        return None
    if kind == ChangeKind.FLOOR:
        return change  # the tier itself did not change: nothing to announce
    member.tier = to_tier
    member.tier_since = effective_on
    member.tier_protected_until = protected_until(to_tier, effective_on)
    member.save(update_fields=["tier", "tier_since", "tier_protected_until", "updated_at"])
    title, body = _notice_text(to_tier.name, effective_on)
    notify_member(member=member, kind=NOTICE_KIND, ref=str(change.pk), title=title, body=body)
    return change


# ---------------------------------------------------------------- immediate upgrade (TIER-2)

IMMEDIATE_MAX_AGE = dt.timedelta(hours=24)


def tier_upgrade_on_purchase(*, member: Member, at: dt.datetime) -> TierChange | None:
    """Upgrade at once when this purchase makes the rolling amount reach an automatic tier that
    opts in (`immediate_upgrade`). Runs inside the purchase's transaction. Purchases older than a
    day (imports, late posts) are left to the nightly evaluation, which does not send surprise
    notices for history."""
    if timezone.now() - at > IMMEDIATE_MAX_AGE:
        return None
    tiers = tier_list()
    current = next(t for t in tiers if t.pk == member.tier_id)
    candidates = [t for t in tiers if t.rank > current.rank and t.immediate_upgrade
                  and t.confirmation == Tier.Confirmation.AUTOMATIC]
    if not candidates:
        return None  # the common case costs one small query
    day = timezone.localtime(at).date()
    with transaction.atomic():
        locked = member_lock(member.pk, with_tier=True)
        if locked.status != Member.Status.ACTIVE:
            return None
        rolling = tier_rolling_for_member(member=locked, day=day)
        reached = [t for t in candidates if t.rank > locked.tier.rank
                   and tier_qualifies(t, amount=rolling.amount, visits=rolling.visits)]
        if not reached:
            return None
        target = max(reached, key=lambda t: t.rank)
        change = _apply_change(
            member=locked, to_tier=target, kind=ChangeKind.UPGRADE, effective_on=day, amount=rolling.amount,
            visits=rolling.visits, reason=_("Immediate upgrade: the purchase reached the threshold"),
        )
        if change is not None:
            member.tier, member.tier_since, member.tier_protected_until = (
                locked.tier, locked.tier_since, locked.tier_protected_until)
        return change


# ---------------------------------------------------------------- manual grant (floor)


@transaction.atomic
def tier_floor_grant(*, member: Member, tier: Tier, until: dt.date, reason: str, staff) -> TierChange:
    """Grant a tier by hand until a date: the member is lifted to it now if below, and no
    downgrade takes them below it while it lasts. Recorded as `manual` (tier changed) or `floor`."""
    scope.require_perm(staff, "tiers.grant_tier")
    reason = (reason or "").strip()
    today = timezone.localdate()
    errors = {}
    if not reason:
        errors["reason"] = [_("Required.")]
    if until is None or until < today:
        errors["until"] = [_("The end date cannot be in the past.")]
    if errors:
        raise ValidationFailed(_("Give a reason and an end date for the manual tier."), fields=errors)
    locked = member_lock(member.pk, with_tier=True)
    scope.require_member(staff, locked)
    locked.tier_floor = tier
    locked.tier_floor_until = until
    locked.save(update_fields=["tier_floor", "tier_floor_until", "updated_at"])
    kind = ChangeKind.MANUAL if tier.rank > locked.tier.rank else ChangeKind.FLOOR
    change = _apply_change(member=locked, to_tier=tier, kind=kind, effective_on=today, reason=reason,
                           decided_by=staff, floor_until=until)
    member.refresh_from_db()
    return change


# ---------------------------------------------------------------- proposals (TIER-4)


def _proposal_for_decision(proposal_id: int, staff) -> tuple[Member, TierProposal]:
    """Lock member then proposal (the fixed order) and check scope and state."""
    try:
        member_id = TierProposal.objects.values_list("member_id", flat=True).get(pk=proposal_id)
    except TierProposal.DoesNotExist:
        raise NotFound(_("No such tier proposal.")) from None
    member = member_lock(member_id, with_tier=True)
    scope.require_member(staff, member)
    proposal = tier_proposal_lock(proposal_id)
    if proposal.status != TierProposal.Status.PENDING:
        raise Conflict(_("This proposal was already %(status)s.") % {"status": proposal.get_status_display()},
                       code="already_decided")
    return member, proposal


@transaction.atomic
def tier_proposal_approve(*, proposal: TierProposal | int, staff, reason: str = "") -> TierChange:
    """Apply the proposed change (effective on the proposed date, or today if that has passed)."""
    scope.require_perm(staff, "tiers.decide_tierproposal")
    member, proposal = _proposal_for_decision(getattr(proposal, "pk", proposal), staff)
    if member.tier_id != proposal.from_tier_id:
        raise Conflict(_("The member's tier changed since this proposal was made; reject it instead."),
                       code="proposal_stale")
    reason = (reason or "").strip()
    change = _apply_change(
        member=member, to_tier=proposal.to_tier, kind=proposal.kind,
        effective_on=max(proposal.effective_on, timezone.localdate()), reason=reason or _("Proposal approved"),
        amount=proposal.rolling_amount, visits=proposal.rolling_visits, decided_by=staff, proposal=proposal,
    )
    proposal.status = TierProposal.Status.APPROVED
    proposal.decided_by = staff
    proposal.decided_at = timezone.now()
    proposal.reason = reason[:500]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return change


@transaction.atomic
def tier_proposal_reject(*, proposal: TierProposal | int, staff, reason: str) -> TierProposal:
    """Keep the member's tier; the reason is kept and the same change is not proposed again while
    the member stays in this tier."""
    scope.require_perm(staff, "tiers.decide_tierproposal")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the rejection."), fields={"reason": [_("Required.")]})
    _member, proposal = _proposal_for_decision(getattr(proposal, "pk", proposal), staff)
    proposal.status = TierProposal.Status.REJECTED
    proposal.decided_by = staff
    proposal.decided_at = timezone.now()
    proposal.reason = reason[:500]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return proposal


@dataclass
class BulkDecision:
    done: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def tier_proposals_decide(*, proposal_ids: Iterable[int], staff, approve: bool, reason: str = "") -> BulkDecision:
    """Approve or reject many proposals; each is its own transaction, so one stale proposal does not
    hold back the others. Errors are reported per proposal id."""
    scope.require_perm(staff, "tiers.decide_tierproposal")
    if not approve and not (reason or "").strip():
        raise ValidationFailed(_("Give the reason for the rejection."), fields={"reason": [_("Required.")]})
    result = BulkDecision()
    for pk in sorted(set(proposal_ids)):
        try:
            if approve:
                tier_proposal_approve(proposal=pk, staff=staff, reason=reason)
            else:
                tier_proposal_reject(proposal=pk, staff=staff, reason=reason)
            result.done.append(pk)
        except (Conflict, NotFound, ValidationFailed) as exc:
            result.errors[pk] = exc.message
    return result


# ---------------------------------------------------------------- nightly evaluation (set-wise)

_DECIDE = """
WITH stats AS ({stats}
), m AS (
    SELECT m.id, m.tier_id, t.rank, t.retention_amount, m.tier_since, m.tier_protected_until,
           COALESCE(s.amount, 0) AS amount, COALESCE(s.visits, 0) AS visits,
           CASE WHEN m.tier_floor_until >= %(day)s THEN f.rank END AS floor_rank,
           to_char(COALESCE(m.tier_evaluation_day, (m.created_at AT TIME ZONE 'Asia/Shanghai')::date), 'MM-DD')
               IN (%(md)s, %(md_alt)s) AS evaluation_day
    FROM members_member m
    JOIN members_tier t ON t.id = m.tier_id
    LEFT JOIN members_tier f ON f.id = m.tier_floor_id
    LEFT JOIN stats s ON s.member_id = m.id
    WHERE {member_filter} AND m.status = 'active'
), up AS (
    SELECT DISTINCT ON (m.id) m.id AS member_id, m.tier_id AS from_tier_id, tt.id AS to_tier_id,
           'upgrade'::text AS kind, m.amount, m.visits, m.tier_since
    FROM m JOIN members_tier tt ON tt.rank > m.rank
         AND ((tt.upgrade_amount > 0 AND m.amount >= tt.upgrade_amount)
              OR (tt.upgrade_visits IS NOT NULL AND m.visits >= tt.upgrade_visits))
    ORDER BY m.id, tt.rank DESC
), down AS (
    SELECT m.id, m.tier_id, nt.id, 'downgrade'::text, m.amount, m.visits, m.tier_since
    FROM m CROSS JOIN LATERAL (
        SELECT t2.id, t2.rank FROM members_tier t2 WHERE t2.rank < m.rank ORDER BY t2.rank DESC LIMIT 1
    ) nt
    WHERE m.evaluation_day AND m.amount < m.retention_amount
      AND (m.tier_protected_until IS NULL OR m.tier_protected_until < %(day)s)
      AND (m.floor_rank IS NULL OR nt.rank >= m.floor_rank)
      AND NOT EXISTS (SELECT 1 FROM up WHERE up.member_id = m.id)
), d AS (SELECT * FROM up UNION ALL SELECT * FROM down)
SELECT d.member_id, d.from_tier_id, d.to_tier_id, d.kind, d.amount, d.visits, tt.confirmation
FROM d JOIN members_tier tt ON tt.id = d.to_tier_id
WHERE NOT (tt.confirmation = 'manual' AND EXISTS (
    SELECT 1 FROM tiers_tierproposal r
    WHERE r.member_id = d.member_id AND r.from_tier_id = d.from_tier_id AND r.to_tier_id = d.to_tier_id
      AND r.status = 'rejected' AND r.created_on >= COALESCE(d.tier_since, '-infinity'::date)))
ORDER BY d.member_id
"""

_RANGE = ("p.member_id >= %(lo)s AND p.member_id < %(hi)s", "m.id >= %(lo)s AND m.id < %(hi)s",
          "s.member_id >= %(lo)s AND s.member_id < %(hi)s")
_IDS = ("p.member_id = ANY(%(ids)s)", "m.id = ANY(%(ids)s)", "s.member_id = ANY(%(ids)s)")
_ALL = ("p.member_id IS NOT NULL", "TRUE", "s.member_id IS NOT NULL")


def _decide_sql(filters: tuple[str, str, str], source: str = SOURCE_SUMMARY) -> str:
    stats = rolling_stats_sql(source=source, purchase_filter=filters[0], summary_filter=filters[2])
    return _DECIDE.format(stats=stats, member_filter=filters[1])


def tier_evaluation_candidates(*, day: dt.date, source: str = SOURCE_SUMMARY) -> list[tuple]:
    """What the nightly evaluation of `day` would decide for every member, without applying it:
    (member, from tier, to tier, kind, amount, visits, confirmation) by member id."""
    if source == SOURCE_SUMMARY:
        purchase_summary_refresh()
    md, md_alt = _evaluation_month_days(day)
    with connection.cursor() as cursor:
        cursor.execute(_decide_sql(_ALL, source), {"day": day, "md": md, "md_alt": md_alt,
                                                   **rolling_window_params(day)})
        return cursor.fetchall()


_APPLY = """
WITH d AS (
    SELECT * FROM unnest(%(member)s::bigint[], %(from)s::bigint[], %(to)s::bigint[], %(kind)s::text[],
                         %(amount)s::numeric[], %(visits)s::int[])
        AS d(member_id, from_tier_id, to_tier_id, kind, amount, visits)
), ins AS (
    INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, kind, reason, rolling_amount,
                                  rolling_visits, effective_on, job_run_id, created_at)
    SELECT d.member_id, d.from_tier_id, d.to_tier_id, d.kind,
           CASE d.kind WHEN 'upgrade' THEN %(up_reason)s ELSE %(down_reason)s END,
           d.amount, d.visits, %(effective)s, %(run)s, %(now)s
    FROM d
    ON CONFLICT (member_id, effective_on, to_tier_id)
        WHERE kind IN ('upgrade', 'downgrade') AND proposal_id IS NULL DO NOTHING
    RETURNING id, member_id, to_tier_id
), upd AS (
    UPDATE members_member m
    SET tier_id = ins.to_tier_id, tier_since = %(effective)s,
        tier_protected_until = (%(effective)s::date + make_interval(months => t.protection_months)
                                - interval '1 day')::date,
        updated_at = %(now)s
    FROM ins JOIN members_tier t ON t.id = ins.to_tier_id
    WHERE m.id = ins.member_id
    RETURNING m.id
)
SELECT ins.id, ins.member_id, ins.to_tier_id FROM ins
"""

_PROPOSE = """
INSERT INTO tiers_tierproposal (member_id, from_tier_id, to_tier_id, kind, rolling_amount, rolling_visits,
                                created_on, effective_on, status, reason, job_run_id, created_at)
SELECT d.member_id, d.from_tier_id, d.to_tier_id, d.kind, d.amount, d.visits, %(day)s, %(effective)s,
       'pending', '', %(run)s, %(now)s
FROM unnest(%(member)s::bigint[], %(from)s::bigint[], %(to)s::bigint[], %(kind)s::text[],
            %(amount)s::numeric[], %(visits)s::int[])
    AS d(member_id, from_tier_id, to_tier_id, kind, amount, visits)
ON CONFLICT DO NOTHING
RETURNING id
"""


def _columns(rows: list[tuple]) -> dict:
    return {
        "member": [r[0] for r in rows], "from": [r[1] for r in rows], "to": [r[2] for r in rows],
        "kind": [r[3] for r in rows], "amount": [r[4] for r in rows], "visits": [r[5] for r in rows],
    }


def _evaluate_batch(cursor, params: dict, tier_names: dict[int, str], counts: dict, source: str) -> None:
    """One transaction: find candidates (read-only scan), lock just those members in id order,
    decide again under the lock (a till may have upgraded one meanwhile), then apply set-wise."""
    cursor.execute(_decide_sql(_RANGE, source), params)
    candidates = [row[0] for row in cursor.fetchall()]
    if not candidates:
        return
    cursor.execute("SELECT id FROM members_member WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [candidates])
    cursor.execute(_decide_sql(_IDS, source), {**params, "ids": candidates})
    rows = cursor.fetchall()
    auto = [r for r in rows if r[6] == Tier.Confirmation.AUTOMATIC]
    manual = [r for r in rows if r[6] == Tier.Confirmation.MANUAL]
    if auto:
        cursor.execute(_APPLY, {**params, **_columns(auto)})
        applied = cursor.fetchall()
        by_member = {r[0]: r for r in auto}
        for _change_id, member_id, _to in applied:
            counts[by_member[member_id][3] + "s"] += 1
        notices = []
        for change_id, member_id, to_tier_id in applied:
            title, body = _notice_text(tier_names[to_tier_id], params["effective"])
            notices.append(Notice(member_id=member_id, kind=NOTICE_KIND, ref=str(change_id), title=title,
                                  body=body, sms_sent=True))
        counts["notices"] += notify_members_bulk(notices)
    if manual:
        cursor.execute(_PROPOSE, {**params, **_columns(manual)})
        counts["proposals"] += len(cursor.fetchall())


def tiers_evaluate(
    *, day: dt.date, job_run_id: int | None = None, progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_MEMBERS, source: str = SOURCE_SUMMARY,
) -> dict:
    """Evaluate every active member for the closed business day `day`; changes are effective the
    next day. Idempotent: a re-run finds the members already moved (and protected), the TierChange
    natural key and the one-pending-proposal rule catch anything else. The rolling figures come from
    the per-member purchase summary, brought up to date first (`source="purchases"`: from the purchases)."""
    effective = day + dt.timedelta(days=1)
    if source == SOURCE_SUMMARY:
        purchase_summary_refresh()
    md, md_alt = _evaluation_month_days(day)
    tier_names = {t.pk: t.name for t in tier_list()}
    counts = {"upgrades": 0, "downgrades": 0, "proposals": 0, "notices": 0, "batches": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM members_member")
        lo, hi = cursor.fetchone()
    if not hi:
        return counts
    starts = range(lo, hi + 1, batch_size)
    base = {"day": day, "effective": effective, **rolling_window_params(day), "md": md, "md_alt": md_alt,
            "run": job_run_id, "up_reason": _("Nightly evaluation: upgrade threshold reached"),
            "down_reason": _("Yearly evaluation: below the retention threshold"), "now": timezone.now()}
    for i, batch_start in enumerate(starts, 1):
        params = {**base, "lo": batch_start, "hi": batch_start + batch_size}
        with transaction.atomic(), connection.cursor() as cursor:
            # No JIT: compiling each batch's decision statement cost more than running it (bench/nightly_tiers.py);
            # memory enough that grouping a batch's summary rows does not spill to disk.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            _evaluate_batch(cursor, params, tier_names, counts, source)
        counts["batches"] += 1
        if progress:
            progress(i, len(starts))
    return counts
