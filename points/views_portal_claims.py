"""Portal page of points claims (补积分, PTS-11), namespace points_portal: the member claims a purchase made
without the card and sees the claims made so far. The path carries no id (SEC-3); only request.member's
claims are shown."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from core.errors import MemberHubError
from core.web import current_member, member_required, portal_render
from members.forms_desk import add_domain_error

from .forms_claims import ClaimForm
from .models import PointsClaim, PointsConfig
from .services.claims import claim_submit

RECENT_CLAIMS = 50


@member_required
def claims(request):
    member = current_member(request)
    form = ClaimForm(request.POST or None)
    status = None
    if request.method == "POST":
        if form.is_valid():
            try:
                result = claim_submit(member=member, channel=PointsClaim.Channel.PORTAL, **form.cleaned_data)
            except MemberHubError as exc:
                add_domain_error(form, exc)
                status = exc.status
            else:
                claim = result.claim
                if claim.status == PointsClaim.Status.CREDITED:
                    messages.success(request, _("Receipt %(no)s found: %(points)s points credited.")
                                     % {"no": claim.receipt_no, "points": claim.points})
                else:
                    messages.info(request, _("Thank you: our staff will check receipt %(no)s and tell you in your "
                                             "inbox.") % {"no": claim.receipt_no})
                return redirect("points_portal:claims")
        status = status or 400
    return portal_render(request, "points/portal/claims.html", "points", {
        "form": form, "window_days": PointsConfig.get().claim_window_days,
        "claims": PointsClaim.objects.filter(member=member).select_related("store")[:RECENT_CLAIMS],
    }, status=status)
