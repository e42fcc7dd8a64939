"""What a cell of a CSV or Excel download may contain (SEC-5): one rule for every export path — the
desk member export, the admin export (django-import-export), the dashboards, the RFM file, the
complaint report and the survey CSI report.

The rule, `safe_cell(value)`:

- Numbers (`int`, `float`, `Decimal`; `bool`) and dates/times are data, not text: they are written
  as they are, so a spreadsheet still sums them; a negative amount stays a number. An aware datetime
  becomes local wall-clock time without its offset (Excel stores no time zone; openpyxl refuses one).
- `None` becomes an empty cell.
- Everything else is text (`str(value)`, so lazy translations too), and:
  1. the control characters an XLSX file cannot hold (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F,
     openpyxl's `ILLEGAL_CHARACTERS_RE`) are removed — one such character in a till brand made every
     later Excel export fail; tab, line feed and carriage return stay;
  2. text that then starts with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP "CSV
     injection") gets a leading apostrophe, so Excel and LibreOffice show it as text instead of
     evaluating it: `=cmd|' /C calc'!A0` is exported as `'=cmd|' /C calc'!A0`. Text that merely looks
     like a number (`"-5"` typed into a name) is still text and is quoted too: only real numbers are
     written as numbers.

Helpers: `safe_row(values)` for a row, `csv_writer(fileobj)` — a `csv.writer` whose rows pass through
`safe_row` — and `SafeModelResource`, the django-import-export resource base whose every exported
cell and header goes through `safe_cell`. `strip_control_chars(text, single_line=True)` is the
matching rule for input: the till's line brand and category lose every control character before they
are stored (points.calculation.line_label), so a bad byte never reaches the database.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone
from import_export import resources

# The same class as openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE (kept here so input cleaning does not
# import openpyxl): C0 controls except tab, line feed and carriage return.
CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# For one-line input (a till line's brand): every C0 control and DEL, tab and line breaks included.
ALL_CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x1f\x7f]")


def strip_control_chars(text: str, *, single_line: bool = False) -> str:
    """`text` without the control characters a spreadsheet cell cannot hold; with `single_line`, without
    any control character (tab and line breaks too) — for labels such as a till line's brand."""
    return (ALL_CONTROL_CHARACTERS_RE if single_line else CONTROL_CHARACTERS_RE).sub("", text)


def safe_cell(value):
    """The value as an export cell may hold it: see the module docstring for the rule."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            return timezone.make_naive(value)
        return value
    if isinstance(value, dt.date | dt.time):
        return value
    text = strip_control_chars(str(value))
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def safe_row(values: Iterable) -> list:
    return [safe_cell(v) for v in values]


class _SafeCsvWriter:
    def __init__(self, fileobj, **kwargs):
        self._writer = csv.writer(fileobj, **kwargs)

    def writerow(self, row: Iterable):
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable]):
        for row in rows:
            self.writerow(row)


def csv_writer(fileobj, **kwargs) -> _SafeCsvWriter:
    """`csv.writer(fileobj)` whose every row goes through `safe_row`: the one CSV writer of the exports."""
    return _SafeCsvWriter(fileobj, **kwargs)


class SafeModelResource(resources.ModelResource):
    """Base of every django-import-export resource: each exported cell and header goes through
    `safe_cell`, whichever format (CSV, XLSX) the admin picks."""

    def export_resource(self, instance, selected_fields=None, **kwargs):
        return safe_row(super().export_resource(instance, selected_fields=selected_fields, **kwargs))

    def get_export_headers(self, selected_fields=None):
        return safe_row(super().get_export_headers(selected_fields=selected_fields))
