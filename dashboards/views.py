"""Desk pages of the dashboards: operations overview (EVAL-5) and consumption analysis (EVAL-3),
each table downloadable as CSV or Excel; all of them read from the read replica when one is configured
(core.replica). Staff without the chain-wide flag see their store only
(members.scope); the store filter offers nothing else."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from core import replica
from core.web import need, staff_required
from plans.selectors import plan_figures

from . import selectors, service_figures
from .exports import table_response
from .forms import ConsumptionFilterForm, OverviewFilterForm

PERM_VIEW = "dashboards.view_dashboard"
FORMATS = ("csv", "xlsx")


def _overview_data(request):
    need(request.user, PERM_VIEW)
    form = OverviewFilterForm(request.user, request.GET or None)
    start, end = form.period()
    data = selectors.overview(store_ids=form.store_ids(), date_from=start, date_to=end)
    return form, start, end, data


@staff_required
@replica.reads()
def overview(request):
    form, start, end, data = _overview_data(request)
    return render(request, "dashboards/overview.html", {
        "form": form, "date_from": start, "date_to": end, "data": data, "query": request.GET.urlencode(),
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
    data = service_figures.staff_service_figures(store_ids=form.store_ids(), date_from=start, date_to=end)
    return form, start, end, data


@staff_required
@replica.reads()
def staff(request):
    """Service figures per staff member and store (seed 001 1.4, 8.1, 8.4), the viewer's stores only."""
    form, start, end, data = _staff_data(request)
    return render(request, "dashboards/staff.html", {
        "form": form, "date_from": start, "date_to": end, "data": data, "query": request.GET.urlencode(),
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
