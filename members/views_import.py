"""Desk import page (MEM-8): upload a CSV/XLSX, read the dry-run report, confirm to import the same file.

The uploaded file waits between the two steps as an encrypted temp file (it holds mobiles and ID
numbers, SEC-2) named by a random token that only the uploading session knows; confirming imports
exactly what was checked, without a second upload."""
from __future__ import annotations

import base64
import io
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core import crypto
from core.errors import Conflict, PermissionDenied
from core.exports import csv_writer, safe_row

from . import scope
from .importing import COLUMNS, REQUIRED_COLUMNS, file_format_for, member_import_file
from .models import Store

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ERRORS_SHOWN = 500
PENDING_TTL_SECONDS = 24 * 3600
SESSION_KEY = "desk_import_pending"


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or Excel (.xlsx) file"))
    store = forms.ModelChoiceField(
        label=gettext_lazy("Store for rows without a store code"), queryset=Store.objects.none(), required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if scope.is_chain_wide(user):
            self.fields["store"].queryset = scope.stores_for(user)
        else:
            del self.fields["store"]  # always the clerk's own store

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it into several files."))
        try:
            file_format_for(upload.name)
        except Exception as exc:  # ValidationFailed with a readable message
            raise forms.ValidationError(str(exc)) from exc
        return upload


def _pending_dir() -> Path:
    path = Path(getattr(settings, "MEMBER_IMPORT_DIR", "") or Path(tempfile.gettempdir()) / "memberhub-imports")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _sweep(directory: Path) -> None:
    """Files of uploads nobody confirmed are removed after a day."""
    cutoff = time.time() - PENDING_TTL_SECONDS
    for old in directory.glob("*.pending"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass


def _store_pending(request, *, content: bytes, filename: str, store: Store | None) -> str:
    directory = _pending_dir()
    _sweep(directory)
    _discard_pending(request)
    token = secrets.token_urlsafe(24)
    (directory / f"{token}.pending").write_text(crypto.encrypt(base64.b64encode(content).decode()))
    request.session[SESSION_KEY] = {"token": token, "filename": filename, "store_id": store.pk if store else None}
    return token


def _discard_pending(request) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending:
        (_pending_dir() / f"{pending['token']}.pending").unlink(missing_ok=True)


def _staff_default_store(user, form: UploadForm) -> Store | None:
    if "store" in form.fields:
        return form.cleaned_data.get("store")
    return scope.staff_store(user)


# What each column of the template holds, for the instructions sheet (the importer's rules, in words).
COLUMN_NOTES = {
    "name": gettext_lazy("The member's name."),
    "mobile": gettext_lazy("11-digit mainland mobile; each number once."),
    "gender": gettext_lazy("男 or 女; empty = not stated."),
    "birthday": gettext_lazy("YYYY-MM-DD."),
    "id_number": gettext_lazy("18-digit resident ID number; stored encrypted."),
    "province": gettext_lazy("Province name, e.g. 广东省."),
    "city": gettext_lazy("City name, e.g. 深圳市."),
    "district": gettext_lazy("District name, e.g. 南山区."),
    "address": gettext_lazy("Street and number; stored encrypted."),
    "occupation": gettext_lazy("Free text."),
    "email": gettext_lazy("An e-mail address."),
    "store_code": gettext_lazy("Home store code; empty = the store chosen on the upload page."),
    "marketing_consent": gettext_lazy("是 or 否: whether the member agreed to marketing messages."),
    "member_no": gettext_lazy("12 digits, only when the member already has a card number."),
}
TEMPLATE_NAME = "会员导入模板"


def template_headers() -> list[str]:
    """The Chinese header of each column, as importing.COLUMNS lists it first after the English key."""
    return [aliases[1] for aliases in COLUMNS.values()]


@login_required
@permission_required("members.import_member", raise_exception=True)
def import_template(request, fmt: str):
    """The empty file to fill in: the headers the importer reads, as CSV (UTF-8 with BOM, so Excel shows the
    Chinese) or as Excel with a second sheet that says what each column holds."""
    headers = template_headers()
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")
        csv_writer(out).writerow(headers)
        response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font, PatternFill

        book = Workbook()
        sheet = book.active
        sheet.title = _("Members")
        sheet.append(safe_row(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="FDE68A" if cell.column <= len(REQUIRED_COLUMNS) else "E5E7EB")
        for column, key in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[sheet.cell(1, column).column_letter].width = 16
            if key in ("mobile", "id_number", "member_no", "birthday"):  # kept as typed, not as numbers or dates
                for row in range(2, 1002):
                    sheet.cell(row, column).number_format = "@"
        notes = book.create_sheet(_("Instructions"))
        notes.append(safe_row([_("Column"), _("Required"), _("What to enter")]))
        for cell in notes[1]:
            cell.font = Font(bold=True)
        for key, aliases in COLUMNS.items():
            notes.append(safe_row([aliases[1], _("yes") if key in REQUIRED_COLUMNS else _("no"),
                                   str(COLUMN_NOTES.get(key, ""))]))
        notes.column_dimensions["A"].width = 14
        notes.column_dimensions["C"].width = 60
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        raise Http404
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(TEMPLATE_NAME)}.{fmt}"
    return response


def _report_context(report) -> dict:
    return {"report": report, "errors_shown": report.errors[:MAX_ERRORS_SHOWN],
            "errors_hidden": max(0, len(report.errors) - MAX_ERRORS_SHOWN)}


@login_required
@permission_required("members.import_member", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_upload(request):
    """Step 1: upload and dry run. Nothing is imported here."""
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        store = _staff_default_store(request.user, form)
        try:
            report = member_import_file(content=content, filename=upload.name, store_default=store,
                                        actor_user=request.user, dry_run=True)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        context.update(_report_context(report), filename=upload.name, store=store)
        if report.ok:
            context["token"] = _store_pending(request, content=content, filename=upload.name, store=store)
            context["form"] = None
    return render(request, "desk_import/upload.html", context)


@login_required
@permission_required("members.import_member", raise_exception=True)
@require_POST
def import_confirm(request, token: str):
    """Step 2: import the file checked in step 1, all or nothing."""
    pending = request.session.get(SESSION_KEY)
    path = _pending_dir() / f"{token}.pending"
    if not pending or not secrets.compare_digest(pending["token"], token) or not path.exists():
        return render(request, "desk_import/result.html", {"expired": True}, status=410)
    content = base64.b64decode(crypto.decrypt(path.read_text()) or "")
    store = Store.objects.filter(pk=pending["store_id"]).first() if pending["store_id"] else None
    _discard_pending(request)  # one confirmation per upload, whatever happens next
    context = {"filename": pending["filename"]}
    try:
        report = member_import_file(content=content, filename=pending["filename"], store_default=store,
                                    actor_user=request.user, dry_run=False)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except Conflict as exc:
        context["conflict"] = exc.message
        return render(request, "desk_import/result.html", context, status=409)
    context.update(_report_context(report))
    return render(request, "desk_import/result.html", context, status=200 if report.ok else 400)
