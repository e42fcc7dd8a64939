"""Reads behind the dashboards: every figure comes from the summary tables (dashboards.models) and
a few small reference tables, never from members, purchases or the ledger, so a page costs a
bounded number of small queries whatever the number of members.

Each page returns `tables` (what the page shows and what CSV / Excel export) and `charts` (the
ECharts specs the page embeds with json_script; static/dashboards/charts.js draws them).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Subquery, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from evaluation.models import RFM_CHINESE_NAMES, LifecycleStage, RfmClass, RfmSnapshot
from members.models import Member
from points.models import PointsConfig

from .jobs import AGE_BANDS, AMOUNT_BANDS, FREQUENCY_BANDS, service_sources
from .models import (
    ConsumptionCube,
    ConsumptionPeriod,
    DailyServiceStats,
    DailyStoreStats,
    DailyTierMoves,
    LifecycleStats,
    RfmMovement,
    RfmStats,
)

TOP_BUCKETS_IN_CHART = 20


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""


def _rate(numerator, denominator) -> float | None:
    """Percent with one decimal; None when there is nothing to divide (shown as "—", not 0)."""
    return round(100.0 * float(numerator) / float(denominator), 1) if denominator else None


def _store_q(store_ids: list[int] | None, field_name: str = "store_id") -> Q:
    return Q() if store_ids is None else Q(**{f"{field_name}__in": store_ids})


def _chart(kind: str, categories: list, series: list[dict], **extra) -> dict:
    return {"kind": kind, "categories": [str(c) for c in categories], "series": series, **extra}


# ---------------------------------------------------------------- operations overview (EVAL-5)

_DAILY_SUMS = ["members_new", "members_total", "members_active", "buyers", "purchases", "amount", "refund_amount",
               "points_issued", "points_redeemed", "points_expired", "points_reversed", "points_adjusted",
               "points_outstanding"]


def _rfm_labels() -> dict[str, str]:
    # In Chinese the label is the class name itself: say it once (the screenshot showed 重要价值 · 重要价值).
    return {str(k.value): v if str(k.label) == v else f"{v} · {k.label}" for k, v in RFM_CHINESE_NAMES.items()}


def _stage_labels() -> dict[str, str]:
    return {c.value: str(c.label) for c in LifecycleStage}


def overview(*, store_ids: list[int] | None, date_from: dt.date, date_to: dt.date) -> dict:
    """The operations dashboard of stores `store_ids` (None: the chain) over [date_from, date_to]."""
    in_period = Q(date__gte=date_from, date__lte=date_to) & _store_q(store_ids)
    daily = list(DailyStoreStats.objects.filter(in_period).values("date").annotate(
        **{name: Sum(name) for name in _DAILY_SUMS}).order_by("date"))
    last = daily[-1] if daily else None
    totals = {name: sum((d[name] for d in daily), 0) for name in _DAILY_SUMS}

    tier_mix = list(DailyStoreStats.objects.filter(_store_q(store_ids), date=last["date"] if last else None)
                    .values("tier__name", "tier__rank").annotate(members=Sum("members_total")).order_by("tier__rank"))
    tier_moves = list(DailyTierMoves.objects.filter(in_period)
                      .values("from_tier__name", "from_tier__rank", "to_tier__name", "to_tier__rank", "kind")
                      .annotate(members=Sum("members")).order_by("from_tier__rank", "to_tier__rank", "kind"))

    # RFM: the latest snapshot on or before the end of the period, and its movement from the one before.
    latest_rfm = RfmStats.objects.filter(_store_q(store_ids), as_of__lte=date_to).order_by("-as_of").values("as_of")[:1]
    rfm_mix = list(RfmStats.objects.filter(_store_q(store_ids), as_of=Subquery(latest_rfm))
                   .values("as_of", "rfm_class").annotate(members=Sum("members"), monetary=Sum("monetary"))
                   .order_by("rfm_class"))
    rfm_moves = list(RfmMovement.objects.filter(_store_q(store_ids), as_of=Subquery(latest_rfm))
                     .values("previous_as_of", "from_class", "to_class").annotate(members=Sum("members"))
                     .order_by("from_class", "to_class"))
    rfm_cells = list(RfmStats.objects.filter(_store_q(store_ids), as_of=Subquery(latest_rfm))
                     .values("as_of", "rfm_class", "tier__code", "tier__name", "tier__rank")
                     .annotate(members=Sum("members")).order_by("tier__rank", "rfm_class"))
    lifecycle_dates = _lifecycle_dates(store_ids, date_to)
    lifecycle = list(LifecycleStats.objects.filter(_store_q(store_ids), as_of__in=lifecycle_dates)
                     .values("as_of", "stage").annotate(members=Sum("members")).order_by("as_of", "stage"))
    service = list(DailyServiceStats.objects.filter(in_period).values("store__code", "store__name").annotate(
        **{name: Sum(name) for name in _SERVICE_SUMS}).order_by("store__code"))
    offset_rate = PointsConfig.get().offset_points_per_yuan

    tables, charts = {}, {}
    liability_yuan = (Decimal(last["points_outstanding"]) / offset_rate).quantize(Decimal("0.01")) if last else None
    redemption_rate = _rate(totals["points_redeemed"], totals["points_issued"])
    as_of = last["date"] if last else None
    tables["kpis"] = Table("kpis", _("Key figures"), [_("Figure"), _("Value")], [
        [_("Members at the end of the period"), last["members_total"] if last else None],
        [_("New members in the period"), totals["members_new"]],
        [_("Active members (a purchase in the last 90 days)"), last["members_active"] if last else None],
        [_("Purchases"), totals["purchases"]],
        [_("Amount paid (yuan)"), totals["amount"]],
        [_("Refunded (yuan)"), totals["refund_amount"]],
        [_("Points issued"), totals["points_issued"]],
        [_("Points redeemed"), totals["points_redeemed"]],
        [_("Points expired"), totals["points_expired"]],
        [_("Points reversed by refunds"), totals["points_reversed"]],
        [_("Points adjusted (net)"), totals["points_adjusted"]],
        [_("Points outstanding at the end of the period"), last["points_outstanding"] if last else None],
        [_("Outstanding liability (yuan at %(rate)s points per yuan)") % {"rate": offset_rate}, liability_yuan],
        [_("Redemption rate (redeemed ÷ issued, %)"), redemption_rate],
    ], note=_("Figures up to %(date)s.") % {"date": as_of} if as_of else _("No figures for this period yet."))
    tables["daily"] = Table("daily", _("Day by day"), [
        _("Date"), _("New members"), _("Members"), _("Active members"), _("Buyers"), _("Purchases"),
        _("Amount paid"), _("Refunded"), _("Points issued"), _("Points redeemed"), _("Points expired"),
        _("Points outstanding")],
        [[d["date"], d["members_new"], d["members_total"], d["members_active"], d["buyers"], d["purchases"],
          d["amount"], d["refund_amount"], d["points_issued"], d["points_redeemed"], d["points_expired"],
          d["points_outstanding"]] for d in daily])
    dates = [d["date"].isoformat() for d in daily]
    charts["members"] = _chart("line", dates, [
        {"name": _("New members"), "data": [d["members_new"] for d in daily]},
        {"name": _("Buyers"), "data": [d["buyers"] for d in daily]}])
    charts["sales"] = _chart("bar", dates, [
        {"name": _("Amount paid"), "data": [float(d["amount"]) for d in daily]},
        {"name": _("Purchases"), "data": [d["purchases"] for d in daily], "axis": 1, "type": "line"}])
    charts["points"] = _chart("line", dates, [
        {"name": _("Points issued"), "data": [d["points_issued"] for d in daily]},
        {"name": _("Points redeemed"), "data": [d["points_redeemed"] for d in daily]},
        {"name": _("Points expired"), "data": [d["points_expired"] for d in daily]}])

    mix_total = sum(t["members"] for t in tier_mix)
    tables["tier_mix"] = Table("tier_mix", _("Tier mix"), [_("Tier"), _("Members"), _("Share (%)")],
                               [[t["tier__name"], t["members"], _rate(t["members"], mix_total)] for t in tier_mix])
    charts["tier_mix"] = _chart("pie", [t["tier__name"] for t in tier_mix],
                                [{"name": _("Members"), "data": [t["members"] for t in tier_mix]}])
    tables["tier_moves"] = Table("tier_moves", _("Tier movements"), [pgettext("tier change", "From"), pgettext("tier change", "To"), _("Kind"), _("Members")],
                                 [[t["from_tier__name"], t["to_tier__name"], t["kind"], t["members"]]
                                  for t in tier_moves])

    rfm_names = _rfm_labels()
    rfm_total = sum(r["members"] for r in rfm_mix)
    rfm_as_of = rfm_mix[0]["as_of"] if rfm_mix else None
    tables["rfm_mix"] = Table("rfm_mix", _("RFM class mix"), [_("RFM class"), _("Members"), _("Share (%)"),
                                                              _("Amount in the window")],
                              [[rfm_names.get(r["rfm_class"], r["rfm_class"]), r["members"],
                                _rate(r["members"], rfm_total), r["monetary"]] for r in rfm_mix],
                              note=(_("Snapshot of %(date)s.") % {"date": rfm_as_of}) if rfm_as_of
                              else _("No RFM snapshot on or before the end of the period."))
    charts["rfm_mix"] = _chart("bar", [rfm_names.get(r["rfm_class"], r["rfm_class"]) for r in rfm_mix],
                               [{"name": _("Members"), "data": [r["members"] for r in rfm_mix]}], horizontal=True)
    outside = _("(not in the population)")
    tables["rfm_moves"] = Table(
        "rfm_moves", _("RFM class movement"), [_("Previous class"), _("Class now"), _("Members")],
        [[rfm_names.get(r["from_class"], r["from_class"]) or outside,
          rfm_names.get(r["to_class"], r["to_class"]) or outside, r["members"]] for r in rfm_moves],
        note=(_("From the snapshot of %(previous)s to %(date)s.") % {"previous": rfm_moves[0]["previous_as_of"],
                                                                       "date": rfm_as_of}) if rfm_moves else "")

    stage_names = _stage_labels()
    tables["lifecycle"] = Table("lifecycle", _("Lifecycle stages"), [_("As of"), _("Stage"), _("Members")],
                                [[r["as_of"], stage_names.get(r["stage"], r["stage"]), r["members"]] for r in lifecycle])
    # Lifecycle over time (issue 16): one stacked column per snapshot date (the last one of each month
    # when the snapshots span more than a month), every stage a series in the stages' order.
    stage_dates = sorted({r["as_of"] for r in lifecycle})
    by_stage: dict[str, dict] = {stage: {} for stage in LifecycleStage.values}
    for r in lifecycle:
        by_stage.setdefault(r["stage"], {})[r["as_of"]] = r["members"]
    charts["lifecycle"] = _chart("bar", [d.isoformat() for d in stage_dates], [
        {"name": stage_names.get(stage, stage), "data": [values.get(d, 0) for d in stage_dates]}
        for stage, values in by_stage.items() if values], stack=True)

    charts["rfm_heatmap"], heatmap = _rfm_heatmap(rfm_cells, rfm_names)
    charts["rfm_sankey"] = _rfm_sankey(rfm_moves, rfm_names, outside)

    tables["service"], charts["service"] = _service_table(service)
    return {"tables": tables, "charts": charts, "as_of": as_of, "liability_yuan": liability_yuan,
            "redemption_rate": redemption_rate, "totals": totals, "last": last, "offset_rate": offset_rate,
            "service_sources": service_sources(), "rfm_as_of": rfm_as_of, "heatmap": heatmap,
            "previous": _previous_period(store_ids, date_from, date_to)}


def _previous_period(store_ids: list[int] | None, date_from: dt.date, date_to: dt.date) -> dict:
    """The same figures for the period of the same length just before (the arrows ▲▼), one query."""
    length = (date_to - date_from).days + 1
    end = date_from - dt.timedelta(days=1)
    start = end - dt.timedelta(days=length - 1)
    rows = DailyStoreStats.objects.filter(_store_q(store_ids), date__gte=start, date__lte=end)
    sums = rows.aggregate(
        members_new=Sum("members_new"), purchases=Sum("purchases"), amount=Sum("amount"),
        points_issued=Sum("points_issued"), points_redeemed=Sum("points_redeemed"),
        members_total=Sum("members_total", filter=Q(date=end)), members_active=Sum("members_active", filter=Q(date=end)),
    )
    sums["redemption_rate"] = _rate(sums["points_redeemed"] or 0, sums["points_issued"] or 0)
    return {"date_from": start, "date_to": end, **sums}


def _lifecycle_dates(store_ids: list[int] | None, date_to: dt.date, *, months: int = 12) -> list[dt.date]:
    """The lifecycle snapshot dates the chart shows up to `date_to`: every one when they span at most a
    month, else the last of each month, for the latest `months` months."""
    dates = list(LifecycleStats.objects.filter(_store_q(store_ids), as_of__lte=date_to).order_by()
                 .values_list("as_of", flat=True).distinct().order_by("-as_of")[:400])
    if not dates or (dates[0] - dates[-1]).days <= 31:
        return sorted(dates[:31])
    last_of_month: dict[tuple[int, int], dt.date] = {}
    for day in dates:  # newest first: the first seen per month is its last snapshot
        last_of_month.setdefault((day.year, day.month), day)
    return sorted(last_of_month.values())[-months:]


def _rfm_heatmap(cells: list[dict], rfm_names: dict[str, str]) -> tuple[dict, dict]:
    """RFM class × tier of the latest snapshot (members, from RfmStats): the ECharts spec and the
    table the page draws with a link per cell to its members (drill-down)."""
    classes = list(RfmClass.values)
    tiers: list[tuple[str, str]] = []
    for c in cells:
        if (c["tier__code"], c["tier__name"]) not in tiers:
            tiers.append((c["tier__code"], c["tier__name"]))
    counts = {(c["rfm_class"], c["tier__code"]): c["members"] for c in cells}
    as_of = cells[0]["as_of"].isoformat() if cells else None
    data = [[ti, ci, counts.get((cls, code), 0)] for ci, cls in enumerate(classes) for ti, (code, _n) in enumerate(tiers)]
    spec = _chart("heatmap", [name for _c, name in tiers], [{"name": _("Members"), "data": data}],
                  rows=[RFM_CHINESE_NAMES[RfmClass(c)] for c in classes], row_keys=classes,
                  column_keys=[code for code, _n in tiers], as_of=as_of)
    rows = [{"rfm_class": cls, "name": RFM_CHINESE_NAMES[RfmClass(cls)],
             "cells": [{"tier": code, "members": counts.get((cls, code), 0)} for code, _n in tiers]}
            for cls in classes]
    top = max(counts.values(), default=0)
    return spec, {"as_of": as_of, "tiers": tiers, "rows": rows, "max": top}


def _rfm_sankey(moves: list[dict], rfm_names: dict[str, str], outside: str) -> dict:
    """Class movement between the two latest snapshots as a Sankey: the previous classes on the left,
    the classes now on the right (members who stayed are the flows to the same class)."""
    def name(value, side):
        label = rfm_names.get(value, value) if value else outside
        return f"{side}：{label.split(' · ')[0]}"

    before, now = pgettext("rfm movement", "Before"), pgettext("rfm movement", "Now")
    links = [{"source": name(r["from_class"], before), "target": name(r["to_class"], now), "value": r["members"]}
             for r in moves if r["members"]]
    nodes = sorted({link["source"] for link in links}) + sorted({link["target"] for link in links})
    return {"kind": "sankey", "categories": nodes, "series": [], "links": links}


_SERVICE_SUMS = ["complaints_received", "complaints_accepted", "accepted_on_time", "complaints_replied",
                 "replied_on_time", "complaints_closed", "closed_on_time", "csi_answered", "csi_satisfied",
                 "visits_due", "visits_done_on_time"]


def _service_table(service: list[dict]) -> tuple[Table, dict]:
    columns = [_("Store"), _("Complaints received"), _("Accepted on time (%)"), _("First reply on time (%)"),
               _("Closed"), _("Closed on time (%)"), _("CSI (%)"), _("Survey answers"), _("Visits due"),
               _("Visits done on time (%)")]

    def row(label, s):
        return [label, s["complaints_received"], _rate(s["accepted_on_time"], s["complaints_accepted"]),
                _rate(s["replied_on_time"], s["complaints_replied"]), s["complaints_closed"],
                _rate(s["closed_on_time"], s["complaints_closed"]), _rate(s["csi_satisfied"], s["csi_answered"]),
                s["csi_answered"], s["visits_due"], _rate(s["visits_done_on_time"], s["visits_due"])]

    rows = [row(f"{s['store__code']} {s['store__name']}", s) for s in service]
    if len(service) > 1:
        rows.append(row(_("All"), {name: sum(s[name] for s in service) for name in _SERVICE_SUMS}))
    chart = _chart("bar", [r[0] for r in rows], [
        {"name": _("Closed on time (%)"), "data": [r[5] for r in rows]},
        {"name": _("CSI (%)"), "data": [r[6] for r in rows]},
        {"name": _("Visits done on time (%)"), "data": [r[9] for r in rows]}])
    return Table("service", _("Complaints, satisfaction and follow-up visits"), columns, rows,
                 note=_("On time: accepted, first replied and closed by the deadline of the complaint's "
                        "time limit; CSI: satisfied ÷ answered on the overall question; visits: done by the "
                        "due date.")), chart


# ---------------------------------------------------------------- consumption analysis (EVAL-3)

DIMENSIONS = [d for d in ConsumptionCube.Dimension if d != ConsumptionCube.Dimension.TOTAL]
_WEEKDAYS = [gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
             gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday")]
# Dimensions whose buckets have a natural order (the rest are sorted by amount).
_ORDERED = {
    "age_band": [code for code, _low in AGE_BANDS] + [""],
    "frequency_band": [code for code, _low in FREQUENCY_BANDS],
    "amount_band": [code for code, _low in AMOUNT_BANDS],
    "weekday": [str(i) for i in range(1, 8)],
    "hour": [str(i) for i in range(24)],
    "gender": ["F", "M", "U", ""],
}


def bucket_label(dimension: str, bucket: str) -> str:
    if bucket == "":
        return _("Not recorded")
    if dimension == "gender":
        return str(dict(Member.Gender.choices).get(bucket, bucket))
    if dimension == "weekday":
        return str(_WEEKDAYS[int(bucket) - 1])
    if dimension == "hour":
        return f"{int(bucket):02d}:00"
    if dimension == "frequency_band":
        return _("%(band)s purchases") % {"band": bucket}
    if dimension == "amount_band":
        return _("%(band)s yuan") % {"band": bucket}
    if dimension == "age_band":
        return _("%(band)s years") % {"band": bucket}
    return bucket


def consumption(*, store_ids: list[int] | None, period: str, tier_id: int | None = None,
                tag_id: int | None = None) -> dict:
    """The consumption analysis of one period, for stores `store_ids` (None: the chain), one tier
    and one tag (None: all). `computed_at` is when the period's cube was last brought up to date, None
    when it never was (the page says "not computed yet" rather than showing zeros)."""
    computed_at = ConsumptionPeriod.objects.filter(period=period).values_list("computed_at", flat=True).first()
    qs = ConsumptionCube.objects.filter(_store_q(store_ids), period=period)
    qs = qs.filter(tag_id=tag_id) if tag_id else qs.filter(tag__isnull=True)
    if tier_id:
        qs = qs.filter(tier_id=tier_id)
    cells = list(qs.values("dimension", "bucket").annotate(
        members=Sum("members"), orders=Sum("orders"), amount=Sum("amount")).order_by())
    by_dim: dict[str, list[dict]] = {}
    for c in cells:
        by_dim.setdefault(c["dimension"], []).append(c)
    total = (by_dim.get("total") or [{"members": 0, "orders": 0, "amount": Decimal(0)}])[0]

    tables, charts = {}, {}
    for dim in DIMENSIONS:
        rows = by_dim.get(dim.value, [])
        order = _ORDERED.get(dim.value)
        if order:
            rank = {b: i for i, b in enumerate(order)}
            rows.sort(key=lambda c: rank.get(c["bucket"], len(rank)))
        else:
            rows.sort(key=lambda c: (-c["amount"], c["bucket"]))
        amount_sum = sum((c["amount"] for c in rows), Decimal(0))
        tables[dim.value] = Table(dim.value, str(dim.label), [
            str(dim.label), _("Members"), _("Orders"), _("Amount"), _("Amount per order"), _("Share of amount (%)")],
            [[bucket_label(dim.value, c["bucket"]), c["members"], c["orders"], c["amount"],
              (c["amount"] / c["orders"]).quantize(Decimal("0.01")) if c["orders"] else None,
              _rate(c["amount"], amount_sum)] for c in rows])
        shown = rows if order else rows[:TOP_BUCKETS_IN_CHART]
        charts[dim.value] = _chart("bar", [bucket_label(dim.value, c["bucket"]) for c in shown], [
            {"name": _("Amount"), "data": [float(c["amount"]) for c in shown]},
            {"name": _("Members"), "data": [c["members"] for c in shown], "axis": 1, "type": "line"}])
    return {"tables": tables, "charts": charts, "total": total, "computed_at": computed_at,
            "avg_ticket": (total["amount"] / total["orders"]).quantize(Decimal("0.01")) if total["orders"] else None}


def consumption_periods(today: dt.date, *, months: int = 24, years: int = 3) -> list[tuple[str, str]]:
    """The periods the cube keeps (newest first): months, then years. No query."""
    choices, y, m = [], today.year, today.month
    for _i in range(months):
        choices.append((f"{y}-{m:02d}", f"{y}-{m:02d}"))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    choices += [(str(today.year - i), str(today.year - i)) for i in range(years)]
    return choices



# ---------------------------------------------------------------- RFM heatmap drill-down


def rfm_cell_members(*, as_of: dt.date, rfm_class: str, tier_code: str, store_ids: list[int] | None):
    """The members of one heatmap cell: their RFM snapshot rows of `as_of` (class and tier as of that
    day, as RfmStats counts them), largest amount first, with member, store and tier in the same query."""
    qs = (RfmSnapshot.objects.filter(as_of=as_of, rfm_class=rfm_class, tier__code=tier_code)
          .select_related("member", "store", "tier").order_by("-monetary", "member_id"))
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    return qs
