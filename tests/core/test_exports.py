"""SEC-5 exports: no live formula and no control character in any CSV or Excel download (core.exports),
tested on the rule and through every exporter's own surface (desk, admin, dashboards, RFM command,
complaint report); and control characters never reach the database from a till line."""
from __future__ import annotations

import csv
import datetime as dt
import io
import pathlib
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from import_export.admin import ExportMixin
from openpyxl import load_workbook

from core.exports import csv_writer, safe_cell, safe_row, strip_control_chars
from core.jobs import run_job
from members import roles
from points.calculation import line_label, parse_lines
from points.models import Purchase
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy

ATTACK = "=cmd|' /C calc'!A0"
BELL_BRAND = "LAN\x07COME"
SUM_BRAND = "+SUM(A1)"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _csv_rows(response_or_text) -> list[list[str]]:
    text = response_or_text if isinstance(response_or_text, str) else response_or_text.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _xlsx_cells(content: bytes) -> list:
    """Every cell of the first sheet, with its data type (openpyxl: 's' text, 'n' number, 'f' formula)."""
    sheet = load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows() for cell in row]


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize("text", [ATTACK, "+SUM(A1)", "-5", "-2+3", "@SUM(A1)", "\tab", "\rx"])
def test_text_starting_like_a_formula_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [Decimal("-5.00"), -5, 3.5, 0, True, dt.date(2026, 3, 1)])
def test_numbers_and_dates_stay_as_they_are(value):
    assert safe_cell(value) is value


def test_ordinary_text_none_and_lazy_strings():
    from django.utils.translation import gettext_lazy

    assert safe_cell("王小明") == "王小明"
    assert safe_cell("13*****5678") == "13*****5678"
    assert safe_cell(None) == ""
    assert safe_cell(gettext_lazy("Name")) == str(gettext_lazy("Name"))


def test_control_characters_are_removed_then_the_prefix_is_checked():
    assert safe_cell(BELL_BRAND) == "LANCOME"
    assert safe_cell("\x00\x08\x0b\x0c\x0e\x1f=1+1") == "'=1+1"
    assert safe_cell("line one\nline two") == "line one\nline two"  # a multi-line address keeps its break
    assert strip_control_chars("a\tb\nc\x07", single_line=True) == "abc"


def test_aware_datetime_becomes_local_wall_clock_time():
    at = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    assert safe_cell(at) == dt.datetime(2026, 3, 1, 10, 0)  # Asia/Shanghai


def test_safe_row_and_csv_writer():
    assert safe_row([ATTACK, 1, None]) == ["'" + ATTACK, 1, ""]
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(["name", "amount"])
    writer.writerows([[ATTACK, Decimal("-5.00")], [BELL_BRAND, 2]])
    assert _csv_rows(buffer.getvalue()) == [["name", "amount"], ["'" + ATTACK, "-5.00"], ["LANCOME", "2"]]


def test_every_exporter_uses_the_one_rule():
    """No CSV writer or workbook outside core.exports bypasses safe_cell; every admin export resource
    is a SafeModelResource (a new export cannot forget the rule)."""
    from core.exports import SafeModelResource

    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "bench"} or rel == pathlib.Path("core/exports.py"):
            continue
        source = path.read_text(encoding="utf-8")
        if "csv.writer(" in source or "csv.DictWriter(" in source:
            offenders.append(f"{rel}: csv.writer")
        if re.search(r"\bWorkbook\(", source) and "safe_row" not in source:
            offenders.append(f"{rel}: Workbook without safe_row")
    assert offenders == []
    for model_admin in admin.site._registry.values():
        if isinstance(model_admin, ExportMixin):
            for resource in model_admin.get_export_resource_classes(None):
                assert issubclass(resource, SafeModelResource), (type(model_admin), resource)


# ---------------------------------------------------------------- input: the till's lines


@pytest.mark.django_db
def test_line_brand_and_category_lose_control_characters_and_are_bounded():
    errors: dict = {}
    [line] = parse_lines([{"brand": BELL_BRAND, "category": "化\x00妆品" + "x" * 100, "amount": "10"}], errors)
    assert errors == {}
    assert line.brand == "LANCOME"
    assert line.category.startswith("化妆品") and len(line.category) == 64
    assert line_label(None) == ""


@pytest.mark.django_db
def test_purchase_stores_lines_without_control_characters():
    """Regression (issue 13): a \\x07 in a till brand reached the database and broke every later Excel export."""
    member = MemberFactory()
    at = timezone.now()
    purchase = buy(member, member.home_store, "100", order_no="CTRL-1", at=at,
                   lines=[{"brand": BELL_BRAND, "category": "化妆品\x1f", "amount": "100"}])
    purchase.refresh_from_db()
    assert purchase.lines == [{"brand": "LANCOME", "category": "化妆品", "amount": "100"}]
    # a retry of the same request is still recognised as the same purchase
    again = buy(member, member.home_store, "100", order_no="CTRL-1", at=at,
                lines=[{"brand": BELL_BRAND, "category": "化妆品\x1f", "amount": "100"}])
    assert again.pk == purchase.pk


# ---------------------------------------------------------------- every exporter, through its surface


@pytest.mark.django_db
def test_desk_member_export_quotes_formula_text(client):
    store = StoreFactory()
    MemberFactory(home_store=store, name=ATTACK)
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    response = client.get(reverse("desk:search_export"), {"status": "active"})
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert len(rows) == 2
    name = rows[1][1]
    assert name.startswith("'=") and name == "'" + ATTACK[0] + "*" * (len(ATTACK) - 1)  # masked, and quoted


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_admin_member_export_writes_formula_text_as_text(client, settings, fmt):
    """The admin XLSX export made `=cmd|' /C calc'!A0` a formula cell (issue 13)."""
    settings.LANGUAGE_CODE = "en"
    store = StoreFactory()
    MemberFactory(home_store=store, name=ATTACK, province="+SUM(A1)", city=ATTACK + "\x07")
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    response = client.post(reverse("admin:members_member_export"),
                           {"format": "0" if fmt == "csv" else "1", "resource": "0"})
    assert response.status_code == 200
    if fmt == "csv":
        header, row = _csv_rows(response)
        cells = dict(zip(header, row, strict=True))
        assert cells["name"].startswith("'=")
        assert cells["province"] == "'+SUM(A1)"
        assert cells["city"] == "'" + ATTACK
        return
    cells = _xlsx_cells(response.content)
    assert all(c.data_type != "f" for c in cells)
    values = [c.value for c in cells]
    assert "'" + ATTACK in values and "'+SUM(A1)" in values
    assert any(isinstance(v, str) and v.startswith("'=*") for v in values)


@pytest.mark.django_db
@pytest.mark.urls("tests.dashboards.urls")
def test_consumption_cube_excel_export_survives_control_characters_and_quotes_formulas(client):
    """Issue 13: a \\x07 in a stored line brand made every later consumption-cube XLSX export 500."""
    day = dt.date(2026, 3, 10)
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    member = MemberFactory(city=ATTACK)
    purchase = buy(member, member.home_store, "300", order_no="CUBE-1", at=at, lines=[
        {"brand": "L", "category": "化妆品", "amount": "100"}, {"brand": SUM_BRAND, "category": "服装", "amount": "200"}])
    # a row stored before input was cleaned
    Purchase.objects.filter(pk=purchase.pk).update(lines=[
        {"brand": BELL_BRAND, "category": "化妆品", "amount": "100"},
        {"brand": SUM_BRAND, "category": "服装", "amount": "200"}])
    run_job("consumption_cube", date=day + dt.timedelta(days=1))
    client.force_login(make_staff(roles.AUDITOR, chain_wide=True))

    response = client.get("/desk/dashboards/consumption/export/brand.xlsx", {"period": "2026-03"})
    assert response.status_code == 200
    cells = _xlsx_cells(response.content)
    assert all(c.data_type != "f" for c in cells)
    values = [c.value for c in cells]
    assert "LANCOME" in values and "'+SUM(A1)" in values

    rows = _csv_rows(client.get("/desk/dashboards/consumption/export/brand.csv", {"period": "2026-03"}))
    assert {"LANCOME", "'+SUM(A1)"} <= {r[0] for r in rows[1:]}
    city = _xlsx_cells(client.get("/desk/dashboards/consumption/export/city.xlsx", {"period": "2026-03"}).content)
    assert "'" + ATTACK in [c.value for c in city]


@pytest.mark.django_db
def test_rfm_export_quotes_text_but_keeps_numbers(tmp_path):
    from evaluation.models import RfmClass, RfmRun, RfmSnapshot

    as_of = dt.date(2026, 3, 10)
    member = MemberFactory(member_no="-1+2")  # a legacy number as imported
    RfmRun.objects.create(as_of=as_of, window_days=365, population=1, mean_recency_days=1, mean_frequency=1,
                          mean_monetary=1)
    RfmSnapshot.objects.create(member=member, as_of=as_of, window_days=365, recency_days=1, frequency=1,
                               monetary=Decimal("-5.00"), r_score=3, f_score=3, m_score=1,
                               rfm_class=RfmClass.values[0], store=member.home_store, tier=member.tier)
    out = tmp_path / "rfm.csv"
    call_command("export_rfm", "--as-of", as_of.isoformat(), "--out", str(out), stdout=io.StringIO())
    rows = _csv_rows(out.read_text(encoding="utf-8"))
    assert rows[1][0] == "'-1+2"
    assert rows[1][3] == "-5.00"  # an amount is a number, not text: no quote


@pytest.mark.django_db
@pytest.mark.urls("tests.service_desk.urls")
def test_complaint_report_csv_quotes_a_store_name(client):
    from service_desk import services

    store = StoreFactory(name="@SUM(1+1)")
    agent = make_staff(roles.CUSTOMER_SERVICE, store=store)
    services.complaint_file(channel="desk", category="quality", store=store, description="鞋子开胶了",
                            contact_name="李女士", staff=agent)
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    today = timezone.localdate()
    response = client.get(reverse("sd_desk:report"), {"start": (today - dt.timedelta(days=1)).isoformat(),
                                                      "end": today.isoformat(), "format": "csv"})
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert [store.code, "'@SUM(1+1)"] in [r[:2] for r in rows[1:]]
