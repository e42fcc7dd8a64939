"""Desk pages of the dashboards: operations overview (EVAL-5) and consumption analysis (EVAL-3),
each table downloadable as CSV or Excel; all of them read from the read replica when one is configured
(core.replica). Staff without the chain-wide flag see their store only
(members.scope); the store filter offers nothing else."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import replica
from core.web import need, staff_required
from evaluation.models import RFM_CHINESE_NAMES, RfmClass
from members.models import Tier
from plans.selectors import plan_figures

from . import selectors, service_figures
from .exports import table_response
from .forms import ConsumptionFilterForm, OverviewFilterForm

PERM_VIEW = "dashboards.view_dashboard"
FORMATS = ("csv", "xlsx")


def date_presets(request, url_name: str, today: dt.date | None = None,
                 shown: tuple[dt.date, dt.date] | None = None) -> list[dict]:
    """今天 / 近7天 / 近30天 / 本月 / 上月 / 本年 as links keeping the other filters (issue 16). The
    figures are built nightly, so the "last N days" end yesterday; today has figures once built."""
    today = today or timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    first = today.replace(day=1)
    last_month_end = first - dt.timedelta(days=1)
    ranges = [
        (_("Today"), today, today),
        (_("Last 7 days"), today - dt.timedelta(days=7), yesterday),
        (_("Last 30 days"), today - dt.timedelta(days=30), yesterday),
        (_("This month"), first, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("This year"), today.replace(month=1, day=1), today),
    ]
    keep = request.GET.copy()
    chosen = ((shown[0].isoformat(), shown[1].isoformat()) if shown
              else (request.GET.get("date_from"), request.GET.get("date_to")))
    out = []
    for label, start, end in ranges:
        keep["date_from"], keep["date_to"] = start.isoformat(), end.isoformat()
        out.append({"label": label, "url": f"{reverse(url_name)}?{keep.urlencode()}",
                    "active": chosen == (start.isoformat(), end.isoformat())})
    return out


def _show_period(form, start: dt.date, end: dt.date) -> None:
    """The date inputs show the period the page shows (empty inputs read mm/dd/yyyy in the screenshot)."""
    if not form.is_bound:
        form.initial.update({"date_from": start.isoformat(), "date_to": end.isoformat()})  # type=date wants ISO


def _overview_data(request):
    need(request.user, PERM_VIEW)
    form = OverviewFilterForm(request.user, request.GET or None)
    start, end = form.period()
    _show_period(form, start, end)
    data = selectors.overview(store_ids=form.store_ids(), date_from=start, date_to=end)
    return form, start, end, data


@staff_required
@replica.reads()
def overview(request):
    form, start, end, data = _overview_data(request)
    store = form.valid_data().get("store")
    return render(request, "dashboards/overview.html", {
        "form": form, "date_from": start, "date_to": end, "data": data, "query": request.GET.urlencode(),
        "presets": date_presets(request, "dashboards:overview", shown=(start, end)), "store_param": store.pk if store else "",
        "plan_figures": plan_figures(since=start, until=end),  # plans/dashboards/_overview_panel.html
    })


@staff_required
@replica.reads()
def overview_export(request, table: str, fmt: str):
    if fmt not in FORMATS:
        raise Http404
    _form, start, end, data = _overview_data(request)
    if table not in data["tables"]:
        raise Http404
    return table_response(data["tables"][table], fmt, filename=f"{table}-{start}-{end}")


def _consumption_data(request):
    need(request.user, PERM_VIEW)
    form = ConsumptionFilterForm(request.user, request.GET or None)
    filters = form.filters()
    return form, filters, selectors.consumption(**filters)


@staff_required
@replica.reads()
def consumption(request):
    form, filters, data = _consumption_data(request)
    return render(request, "dashboards/consumption.html", {
        "form": form, "filters": filters, "data": data, "query": request.GET.urlencode(),
        "blocks": [(d.value, data["tables"][d.value], data["charts"][d.value]) for d in selectors.DIMENSIONS],
    })


@staff_required
@replica.reads()
def consumption_export(request, dimension: str, fmt: str):
    if fmt not in FORMATS:
        raise Http404
    _form, filters, data = _consumption_data(request)
    if dimension not in data["tables"]:
        raise Http404
    return table_response(data["tables"][dimension], fmt, filename=f"consumption-{dimension}-{filters['period']}")


def _staff_data(request):
    need(request.user, PERM_VIEW)
    form = OverviewFilterForm(request.user, request.GET or None)
    start, end = form.period()
    _show_period(form, start, end)
    data = service_figures.staff_service_figures(store_ids=form.store_ids(), date_from=start, date_to=end)
    return form, start, end, data


@staff_required
@replica.reads()
def staff(request):
    """Service figures per staff member and store (seed 001 1.4, 8.1, 8.4), the viewer's stores only."""
    form, start, end, data = _staff_data(request)
    return render(request, "dashboards/staff.html", {
        "form": form, "date_from": start, "date_to": end, "data": data, "query": request.GET.urlencode(),
        "presets": date_presets(request, "dashboards:staff", shown=(start, end)), "computed_at": timezone.now(),
    })


@staff_required
@replica.reads()
def staff_export(request, table: str, fmt: str):
    if fmt not in FORMATS:
        raise Http404
    _form, start, end, data = _staff_data(request)
    if table not in data["tables"]:
        raise Http404
    return table_response(data["tables"][table], fmt, filename=f"staff-{table}-{start}-{end}")


CELL_PAGE_SIZE = 50


@staff_required
@replica.reads()
def rfm_cell(request):
    """The members of one cell of the overview's RFM heatmap (class × tier on one snapshot date), with
    "create segment" and "send campaign" for the same conditions (issue 16)."""
    need(request.user, PERM_VIEW)
    need(request.user, "evaluation.view_rfmsnapshot")
    rfm_class, tier_code = request.GET.get("rfm_class", ""), request.GET.get("tier", "")
    try:
        as_of = dt.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        raise Http404(_("Choose a cell of the heatmap.")) from None
    if rfm_class not in RfmClass.values:
        raise Http404(_("Choose a cell of the heatmap."))
    tier = get_object_or_404(Tier, code=tier_code)
    form = OverviewFilterForm(request.user, request.GET or None)
    store = form.valid_data().get("store")
    rows = selectors.rfm_cell_members(as_of=as_of, rfm_class=rfm_class, tier_code=tier.code,
                                      store_ids=form.store_ids())
    page = Paginator(rows, CELL_PAGE_SIZE).get_page(request.GET.get("page"))
    conditions = {"rfm_classes": rfm_class, "tiers": tier.code}
    if store:
        conditions["stores"] = store.code
    class_name = RFM_CHINESE_NAMES[RfmClass(rfm_class)]
    conditions["name"] = f"{class_name} · {tier.name} · {as_of:%Y-%m-%d}"
    segment_query = urlencode(conditions)
    return render(request, "dashboards/rfm_cell.html", {
        "page": page, "as_of": as_of, "class_name": class_name, "tier": tier, "store": store,
        "segment_url": f"{reverse('evaluation:segment_new')}?{segment_query}",
        "campaign_url": f"{reverse('evaluation:segment_new')}?{segment_query}&then=campaign",
        "back_url": f"{reverse('dashboards:overview')}?{urlencode({'store': store.pk} if store else {})}",
        "page_query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
    })
