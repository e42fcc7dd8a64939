"""CSV and Excel downloads of a dashboard table (the same Table the page shows)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from django.http import HttpResponse
from django.utils.text import slugify

from .selectors import Table


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, dt.date | Decimal | int | float):
        return value
    return str(value)


def table_response(table: Table, fmt: str, *, filename: str) -> HttpResponse:
    name = slugify(filename) or table.key
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title=table.key[:31])
        ws.append([str(c) for c in table.columns])
        for row in table.rows:
            ws.append([_cell(v) for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(
            buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly only with a BOM
    writer = csv.writer(response)
    writer.writerow([str(c) for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    return response
