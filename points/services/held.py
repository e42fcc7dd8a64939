"""Held points of pending desk sign-ups (issue 15; seed 000 会员注册 / 积分累计; SPEC MEM-2, PTS-1).

A desk sign-up waits for a second staff member's review (members.services.member_review). Meanwhile the
person may already shop: the till finds the pending member and the sale is recorded with the points it
would earn as `Purchase.points_held` (nothing in the ledger, no tier move). The review decides:

- approved: every held sale of the member is credited once, in the review's transaction — the held
  purchases are locked (pk order) and taken in one UPDATE, then each gets its own ledger entry and lot
  (idem key purchase:<id>, the same as a till credit, so refunds reverse from the purchase's own lot),
  for what is left after refunds made meanwhile (points_left_after_refunds: as if the member had been
  active at the till); one audit row and one inbox notice list them; the tier engine hears of them
  (points.hooks);
- rejected: the sales leave the rejected record (member NULL, nothing held) and become member-less till
  sales, claimable once through a points claim (points.services.claims) within the claim window, by the
  person's corrected sign-up or anyone with the receipt.

members may not import points (layers contract), so members.hooks.member_reviewed calls
`held_points_settle`, registered in PointsConfig.ready(). A second run finds nothing held: it changes
nothing (member_review itself refuses a second review of the same sign-up).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.models import AuditLog
from members.models import Member

from .. import hooks
from ..locks import held_purchases_lock
from ..models import PointsConfig, Purchase
from .ledger import Source, credit
from .purchases import points_left_after_refunds


@dataclass
class HeldSettlement:
    purchases: int = 0
    points: int = 0
    orders: list[str] = field(default_factory=list)


def held_points_settle(*, member: Member, approved: bool, reviewer) -> HeldSettlement:
    """Credit (approved) or release (rejected) the member's held sales. Runs inside the review's
    transaction, after member_review locked the member and set its new status."""
    assert transaction.get_connection().in_atomic_block, "held_points_settle() must run inside a transaction"
    held = held_purchases_lock(member.pk)
    result = HeldSettlement(purchases=len(held), orders=[p.order_no for p in held])
    if not held:
        return result
    now = timezone.now()
    ids = [p.pk for p in held]
    if not approved:
        Purchase.objects.filter(pk__in=ids).update(member=None, points_held=0, changed_at=now)
        audit_record(actor=reviewer, action=AuditLog.Action.REVIEW, member=member, field="held_points",
                     detail=_("Sign-up rejected: %(n)s held sales are member-less and claimable (%(orders)s)")
                     % {"n": len(held), "orders": ", ".join(result.orders)[:400]})
        return result
    plan = [(p, *points_left_after_refunds(points=p.points_held, refunded=p.amount_refunded,
                                           amount_total=p.amount_total)) for p in held]
    # One statement moves the held points to earned and the already refunded share to reversed.
    for purchase, _credit, reversed_ in plan:
        purchase.points_earned, purchase.points_held, purchase.points_reversed = purchase.points_held, 0, reversed_
    Purchase.objects.bulk_update([p for p, _c, _r in plan], ["points_earned", "points_held", "points_reversed"])
    config = PointsConfig.get()
    for purchase, to_credit, _reversed in plan:
        if to_credit:
            credit(member=member, points=to_credit, idem_key=f"purchase:{purchase.pk}",
                   earned_on=timezone.localtime(purchase.occurred_at).date(), config=config,
                   source=Source(store_id=purchase.store_id, purchase_id=purchase.pk, ref=purchase.order_no,
                                 reason=_("Purchase (held until the sign-up was approved)"),
                                 campaigns=tuple(c["id"] for c in purchase.campaigns or [])))
            result.points += to_credit
    audit_record(actor=reviewer, action=AuditLog.Action.REVIEW, member=member, field="held_points",
                 detail=_("Sign-up approved: %(points)s held points of %(n)s sales credited (%(orders)s)")
                 % {"points": result.points, "n": len(held), "orders": ", ".join(result.orders)[:400]})
    _notify(member, result)
    hooks.purchase_posted(member=member, at=max(p.occurred_at for p in held))  # the tier engine (TIER-2)
    return result


def _notify(member: Member, result: HeldSettlement) -> None:
    from messaging.services import notify_member

    notify_member(member=member, kind="points_held", ref=f"held:{member.pk}", sms=False,
                  title=_("Points of your first purchases credited"),
                  body=_("Your membership was approved: %(points)s points of %(n)s purchases made while it was "
                         "being reviewed are now in your account.") % {"points": result.points, "n": result.purchases})
