"""Reads of the benefits catalogue (BEN-1)."""
from __future__ import annotations

from members.models import Tier

from .models import Benefit, TierBenefit


def benefit_table() -> tuple[list[Tier], list[tuple[Benefit, list[TierBenefit | None]]]]:
    """Tiers in rank order and, per published benefit, each tier's value (None if it has none).
    Three queries."""
    tiers = list(Tier.objects.order_by("rank"))
    benefits = list(Benefit.objects.filter(is_published=True).order_by("sort_order", "id"))
    values = {(tb.benefit_id, tb.tier_id): tb for tb in TierBenefit.objects.filter(benefit__in=benefits)}
    return tiers, [(b, [values.get((b.pk, t.pk)) for t in tiers]) for b in benefits]
