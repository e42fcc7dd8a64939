"""Desk pages of the evaluation (EVAL-1, 2, 4, 6): RFM class mix and movement, closeness ranking and
distribution, lifecycle counts over time, segments with a live preview count. Store-scoped through
members.scope: a store's staff see their store's members only. The read-only pages (RFM, closeness,
lifecycle, the preview count) read from the read replica when one is configured (core.replica); the segment
form reads its own writes from the primary."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core import replica
from core.errors import MemberHubError
from core.web import need, staff_required
from members import scope
from members.models import Store, Tier

from . import selectors, services
from .forms import LIST_KEYS, SegmentRulesForm, describe, grouped
from .models import RFM_CHINESE_NAMES, LifecycleStage, RfmClass, Segment

PAGE_SIZE = 50


def _day(value: str | None, default: dt.date | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _store_filter(request) -> tuple[list[int] | None, list[Store], str]:
    """The caller's store ids, narrowed by ?store=<code> within their scope."""
    stores = list(scope.stores_for(request.user).order_by("code"))
    ids = scope.store_ids(request.user)
    code = request.GET.get("store", "")
    if code:
        store = next((s for s in stores if s.code == code), None)
        if store is None:
            raise Http404(_("No such store."))
        ids = [store.pk]
    return ids, stores, code


def _class_label(value: str) -> str:
    return RFM_CHINESE_NAMES[RfmClass(value)] if value in RfmClass.values else _("Not in the population")


@staff_required
@replica.reads()
def rfm(request):
    need(request.user, "evaluation.view_rfmsnapshot")
    store_ids, stores, store_code = _store_filter(request)
    dates = selectors.rfm_dates()
    to_day = _day(request.GET.get("to"), dates[0] if dates else None)
    from_day = _day(request.GET.get("from"), dates[1] if len(dates) > 1 else to_day)
    tier_code = request.GET.get("tier", "")
    tiers = list(Tier.objects.order_by("rank"))
    tier_ids = [t.pk for t in tiers if t.code == tier_code] if tier_code else None
    context = {"dates": dates, "from_day": from_day, "to_day": to_day, "stores": stores, "store_code": store_code,
               "tiers": tiers, "tier_code": tier_code}
    if to_day:
        counts = selectors.rfm_class_counts(as_of=to_day, store_ids=store_ids)
        total = sum(counts.values()) or 1
        context["mix"] = [(_class_label(c), RfmClass(c).label, counts.get(c, 0), 100 * counts.get(c, 0) / total)
                          for c in RfmClass.values]
        movement = selectors.rfm_movement(from_as_of=from_day, to_as_of=to_day, store_ids=store_ids,
                                          tier_ids=tier_ids)
        context["movement"] = movement
        context["movement_rows"] = [(_class_label(c), row) for c, row in zip(movement.classes, movement.matrix(),
                                                                              strict=True)]
        context["movement_columns"] = [_class_label(c) for c in movement.classes]
    return render(request, "evaluation/rfm.html", context)


@staff_required
@replica.reads()
def closeness(request):
    need(request.user, "evaluation.view_closenesssnapshot")
    store_ids, stores, store_code = _store_filter(request)
    dates = selectors.closeness_dates()
    day = _day(request.GET.get("as_of"), dates[0] if dates else None)
    context = {"dates": dates, "as_of": day, "stores": stores, "store_code": store_code}
    if day:
        histogram = selectors.closeness_histogram(as_of=day, store_ids=store_ids)
        top = max((n for _lo, _hi, n in histogram), default=0) or 1
        context["histogram"] = [(lo, hi, n, 100 * n / top) for lo, hi, n in histogram]
        context["page"] = Paginator(selectors.closeness_ranked(as_of=day, store_ids=store_ids), PAGE_SIZE).get_page(
            request.GET.get("page"))
    return render(request, "evaluation/closeness.html", context)


@staff_required
@replica.reads()
def lifecycle(request):
    need(request.user, "evaluation.view_lifecyclesnapshot")
    store_ids, stores, store_code = _store_filter(request)
    rows = selectors.lifecycle_counts(store_ids=store_ids)
    stages = list(LifecycleStage.choices)
    table = [(day, [counts[v] for v, _label in stages], sum(counts.values())) for day, counts in rows]
    return render(request, "evaluation/lifecycle.html",
                  {"stages": stages, "table": table, "stores": stores, "store_code": store_code})


@staff_required
def segments(request):
    need(request.user, "evaluation.view_segment")
    tier_names = dict(Tier.objects.values_list("code", "name"))
    store_names = {code: f"{code} {name}" for code, name in Store.objects.values_list("code", "name")}
    rows = [(s, describe(s.definition, tier_names=tier_names, store_names=store_names))
            for s in selectors.segment_list()]
    return render(request, "evaluation/segments.html", {"segments": rows})


def _query_definition(request) -> dict:
    return {k: request.GET.getlist(k) for k in LIST_KEYS if request.GET.getlist(k)}


def _rules_form(request, segment: Segment | None = None) -> SegmentRulesForm:
    """The builder bound to the POST, or unbound with the segment's conditions, or with conditions
    given in the query string (a dashboard cell's "create segment": ?rfm_classes=…&tiers=…)."""
    if request.method == "POST":
        return SegmentRulesForm(request.POST, user=request.user)
    if segment is not None:
        initial = SegmentRulesForm.initial_from(segment.definition)
    else:
        initial = SegmentRulesForm.initial_from(_query_definition(request))
    return SegmentRulesForm(initial=initial, user=request.user)


def _after_save(request, segment: Segment):
    if request.POST.get("then") == "campaign" and request.user.has_perm("messaging.add_campaign"):
        return redirect(f"{reverse('campaign_desk:new')}?segment={segment.pk}")
    return redirect("evaluation:segment_edit", pk=segment.pk)


@staff_required
def segment_edit(request, pk: int | None = None):
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    need(request.user, "evaluation.change_segment" if segment else "evaluation.add_segment")
    error = ""
    form = _rules_form(request, segment)
    if request.method == "POST":
        if not form.is_valid():
            error = _("Check the conditions marked below.")
        else:
            try:
                segment = services.segment_save(
                    name=request.POST.get("name", ""), description=request.POST.get("description", ""),
                    definition=form.definition(), staff=request.user, segment=segment)
            except MemberHubError as exc:
                error = exc.message + " " + " ".join(sum((exc.fields or {}).values(), []))
            else:
                messages.success(request, _("Segment saved."))
                return _after_save(request, segment)
    count = None
    if request.method == "POST":
        definition = form.definition() if form.is_valid() else None
    else:
        definition = segment.definition if segment else _query_definition(request)
        if selectors.segment_definition_errors(definition):
            definition = None
    if definition is not None and not error:
        with replica.reads():
            count = selectors.segment_count_for_staff(segment=definition, store_ids=scope.store_ids(request.user))
    return render(request, "evaluation/segment_form.html", {
        "segment": segment, "error": error, "count": count, "form": form, "groups": grouped(form),
        "name": request.POST.get("name", segment.name if segment else request.GET.get("name", "")),
        "description": request.POST.get("description", segment.description if segment else
                                        request.GET.get("description", "")),
        "then": request.POST.get("then", request.GET.get("then", "")),
    })


@staff_required
@replica.reads()
def segment_preview(request):
    """htmx: how many members (of the caller's stores) the conditions in the builder select now."""
    need(request.user, "evaluation.view_segment")
    if request.method != "POST":
        raise Http404
    form = SegmentRulesForm(request.POST, user=request.user)
    count, error, summary = None, "", []
    if form.is_valid():
        count = selectors.segment_count_for_staff(segment=form.definition(), store_ids=scope.store_ids(request.user))
        summary = form.chip_summary()
    else:
        error = " ".join(f"{form.fields[k].label if k in form.fields else ''}：{' '.join(v)}"
                         for k, v in form.errors.items())
    return render(request, "evaluation/_segment_count.html", {"count": count, "error": error, "summary": summary})
