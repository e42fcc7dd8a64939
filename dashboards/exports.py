"""CSV and Excel downloads of a dashboard table (the same Table the page shows); every cell goes through
core.exports.safe_cell (no live formula, no control character)."""
from __future__ import annotations

import io

from django.http import HttpResponse
from django.utils.text import slugify

from core.exports import csv_writer, safe_row

from .selectors import Table


def table_response(table: Table, fmt: str, *, filename: str) -> HttpResponse:
    name = slugify(filename) or table.key
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title=table.key[:31])
        ws.append(safe_row(table.columns))
        for row in table.rows:
            ws.append(safe_row(row))
        buf = io.BytesIO()
        wb.save(buf)
        response = HttpResponse(
            buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly only with a BOM
    writer = csv_writer(response)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return response
