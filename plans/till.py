"""The till's membership-fee line (issue 18): a purchase line of kind "membership_fee" naming a plan code
buys or renews that plan for the purchase's member, in the purchase's transaction (points.hooks). It earns
no points (points.calculation). The till retries: a retried order returns the first purchase and runs
nothing, and the membership's purchase reference (store, order, line) holds it in the database as well."""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from .errors import PlanError
from .models import Source
from .services import membership_buy, plan_for_sale


def membership_fee_line_post(*, purchase, line: dict, index: int) -> None:
    if purchase.member_id is None:
        raise PlanError(_("A membership fee needs the member's card."), code="membership_needs_member",
                        fields={f"lines[{index}]": [_("Identify the member.")]})
    plan = plan_for_sale(line.get("plan") or "")
    membership_buy(member=purchase.member, plan=plan, source=Source.TILL,
                   purchase_ref=f"till:{purchase.store.code}:{purchase.order_no}:{index}",
                   price_paid=Decimal(str(line.get("amount"))), actor=f"till:{purchase.store.code}",
                   at=purchase.occurred_at)
