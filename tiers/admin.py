"""Admin (unfold) of the tier engine: the history read-only, the proposal queue with approve /
reject actions that call the services. Both store-scoped (MEM-9)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import ChoicesDropdownFilter

from members.admin_base import ScopedReadOnlyAdmin

from . import services
from .models import TierChange, TierProposal


@admin.register(TierChange)
class TierChangeAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("created_at", "member", "kind", "from_tier", "to_tier", "effective_on", "rolling_amount",
                    "decided_by", "reason")
    list_filter = (("kind", ChoicesDropdownFilter), "to_tier")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "from_tier", "to_tier", "decided_by")
    date_hierarchy = "effective_on"
    fields = ("member", "kind", "from_tier", "to_tier", "effective_on", "floor_until", "rolling_amount",
              "rolling_visits", "reason", "decided_by", "proposal", "job_run", "created_at")
    readonly_fields = fields


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(TierProposal)
class TierProposalAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("created_on", "member", "kind", "from_tier", "to_tier", "rolling_amount", "rolling_visits",
                    "effective_on", "status", "decided_by", "reason")
    list_filter = (("status", ChoicesDropdownFilter), ("kind", ChoicesDropdownFilter), "to_tier")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "from_tier", "to_tier", "decided_by")
    fields = ("member", "kind", "from_tier", "to_tier", "rolling_amount", "rolling_visits", "created_on",
              "effective_on", "status", "decided_by", "decided_at", "reason", "job_run", "created_at")
    readonly_fields = fields
    actions = ["approve_proposals", "reject_proposals"]

    def has_decide_permission(self, request):
        return request.user.has_perm("tiers.decide_tierproposal")

    def _report(self, request, result):
        for pk, message in result.errors.items():
            self.message_user(request, f"#{pk}: {message}", messages.ERROR)
        if result.done:
            self.message_user(request, gettext("%(n)d proposal(s) decided.") % {"n": len(result.done)},
                              messages.SUCCESS)

    @admin.action(description=_("Approve selected proposals"), permissions=["decide"])
    def approve_proposals(self, request, queryset):
        result = services.tier_proposals_decide(proposal_ids=list(queryset.values_list("pk", flat=True)),
                                                staff=request.user, approve=True)
        self._report(request, result)

    @admin.action(description=_("Reject selected proposals"), permissions=["decide"])
    def reject_proposals(self, request, queryset):
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                result = services.tier_proposals_decide(
                    proposal_ids=list(queryset.values_list("pk", flat=True)), staff=request.user, approve=False,
                    reason=form.cleaned_data["reason"])
                self._report(request, result)
                return None
        else:
            form = RejectForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reject tier proposals"),
            "opts": self.model._meta,
            "form": form,
            "proposals": queryset.select_related("member", "from_tier", "to_tier"),
            "action": request.POST.get("action"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "tiers/admin/reject_proposals.html", context)
