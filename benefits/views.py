"""Portal page of the benefits catalogue (BEN-1, 公开性): public, the member's tier highlighted."""
from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from .selectors import benefit_table as benefit_table_select


@require_GET
def benefit_table(request):
    tiers, rows = benefit_table_select()
    member = request.member
    return render(request, "benefits/table.html", {
        "tiers": tiers, "rows": rows, "my_tier_id": member.tier_id if member else None,
        "portal_section": "benefits",
    })
