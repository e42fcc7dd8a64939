"""Bulk import of members (MEM-8): report of bad rows, dry run, all-or-nothing, desk page, command."""
import csv
import datetime as dt
import io
import random

import pytest
import tablib
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from stdnum.cn import ric

from core import crypto
from core.errors import PermissionDenied
from members import roles
from members.importing import member_import, member_import_file
from members.models import ConsentLog, Member, MemberChange
from members.services import member_numbers_allocate
from members.validation import _normalize_mobile_full, normalize_mobile
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

HEADERS = ["name", "mobile", "gender", "birthday", "id_number", "province", "city", "district", "address",
           "occupation", "email", "store_code", "marketing_consent", "member_no"]
ZH_HEADERS = ["姓名", "手机号", "性别", "生日", "身份证号", "省", "市", "区", "地址", "职业", "邮箱", "门店", "营销同意", "会员号"]


def id_number(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


GOOD_ID = id_number("11010519900307123")  # born 1990-03-07


def row(**kw) -> dict:
    base = {"name": "张伟", "mobile": "13812345678", "gender": "男", "birthday": "1990-03-07", "id_number": "",
            "province": "上海市", "city": "上海市", "district": "黄浦区", "address": "南京东路800号",
            "occupation": "工程师", "email": "zw@example.com", "store_code": "SH01", "marketing_consent": "是",
            "member_no": ""}
    return {**base, **kw}


def csv_bytes(rows: list[dict], headers=HEADERS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r[h] for h in HEADERS])
    return out.getvalue().encode(encoding)


@pytest.fixture
def store():
    return StoreFactory(code="SH01", name="上海南京路店")


@pytest.fixture
def desk(store):
    return make_staff(roles.FRONT_DESK, store=store)


# ---------------------------------------------------------------- service


def test_every_bad_row_is_reported_with_row_number_and_field(store):
    """MEM-8: the report names the spreadsheet row (header = row 1) and the field of each problem."""
    MemberFactory(mobile="13900000001")
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    rows = [
        row(mobile="13800000001"),                                   # 2 ok
        row(mobile="12345"),                                          # 3 bad mobile
        row(mobile="13800000003", id_number=GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")),  # 4 checksum
        row(mobile="13800000001"),                                    # 5 duplicate of row 2
        row(mobile="13900000001"),                                    # 6 already a member
        row(mobile="13800000006", store_code="XX99"),                 # 7 unknown store
        row(mobile="13800000007", birthday=tomorrow),                 # 8 future birthday
        row(mobile="13800000008", marketing_consent="也许"),           # 9 consent neither yes nor no
        row(mobile="13800000009", member_no="12345"),                 # 10 member number not 12 digits
    ]
    report = member_import(rows=rows, store_default=None, actor_user=None, dry_run=True)
    found = {(e.row, e.field) for e in report.errors}
    assert found == {(3, "mobile"), (4, "id_number"), (5, "mobile"), (6, "mobile"), (7, "store_code"),
                     (8, "birthday"), (9, "marketing_consent"), (10, "member_no")}
    by_row = {e.row: e.message for e in report.errors}
    assert "2" in by_row[5]  # points at the first occurrence
    assert report.total == 9 and report.bad_rows == 8 and report.valid == 1


def test_duplicate_id_number_in_file_and_in_database(store):
    existing_id = id_number("11010119800101001")
    MemberFactory(id_number_hash=crypto.lookup_hash(existing_id))
    rows = [row(mobile="13800000001", id_number=GOOD_ID), row(mobile="13800000002", id_number=GOOD_ID),
            row(mobile="13800000003", id_number=existing_id, birthday="1980-01-01")]
    report = member_import(rows=rows, store_default=None, actor_user=None, dry_run=True)
    assert {(e.row, e.field) for e in report.errors} == {(3, "id_number"), (4, "id_number")}


def test_dry_run_imports_nothing(store):
    report = member_import(rows=[row()], store_default=None, actor_user=None, dry_run=True)
    assert report.ok and report.valid == 1 and report.imported == 0
    assert not Member.objects.exists()


def test_commit_imports_active_members_with_consent_logs_and_history(store):
    """MEM-8, MEM-6: imported members are active, encrypted, and their consents are logged."""
    staff = make_staff(roles.FRONT_DESK, store=store)
    kept_no = "100000000017"
    rows = [row(mobile="13800000001", id_number=GOOD_ID, member_no=kept_no),
            row(name="李娜", mobile="139 0000 0002", gender="女", marketing_consent="否", birthday="", address="")]
    report = member_import(rows=rows, store_default=None, actor_user=staff, dry_run=False)
    assert report.ok and report.imported == 2

    first = Member.objects.get(member_no=kept_no)
    assert first.status == Member.Status.ACTIVE and first.channel == Member.Channel.IMPORT
    assert first.tier.code == "normal" and first.home_store == store and first.created_by == staff
    assert first.privacy_version == "2026-11" and first.marketing_consent is True
    assert first.gender == "M" and first.birthday == dt.date(1990, 3, 7)
    assert crypto.decrypt(first.mobile_enc) == "13800000001" and first.mobile_masked == "138****0001"
    assert first.mobile_hash == crypto.lookup_hash("13800000001")
    assert crypto.decrypt(first.id_number_enc) == GOOD_ID and first.id_number_hash == crypto.lookup_hash(GOOD_ID)
    assert crypto.decrypt(first.address_enc) == "南京东路800号"

    second = Member.objects.get(name="李娜")
    assert len(second.member_no) == 12 and second.member_no.startswith("86")
    assert second.gender == "F" and second.marketing_consent is False and second.birthday is None
    assert second.address_enc is None and crypto.decrypt(second.mobile_enc) == "13900000002"

    consents = {(c.member.name, c.kind, c.granted, c.channel, c.version) for c in ConsentLog.objects.all()}
    assert consents == {
        ("张伟", "privacy", True, "import", "2026-11"), ("张伟", "marketing", True, "import", "2026-11"),
        ("张伟", "id_number", True, "import", "2026-11"),  # the imported ID number's consent (PIPL art. 29)
        ("李娜", "privacy", True, "import", "2026-11"), ("李娜", "marketing", False, "import", "2026-11"),
    }
    changes = list(MemberChange.objects.values_list("field", "old_value", "new_value", "actor_label", "channel"))
    assert changes == [("status", "", "active", staff.username, "import")] * 2
    assert ConsentLog.objects.filter(at__isnull=True).count() == 0


def test_birthday_is_taken_from_the_id_number_when_missing(store):
    member_import(rows=[row(id_number=GOOD_ID, birthday="")], store_default=None, actor_user=None, dry_run=False)
    assert Member.objects.get().birthday == dt.date(1990, 3, 7)


def test_one_bad_row_imports_nothing(store):
    """All or nothing: a file with a bad row leaves the database unchanged."""
    rows = [row(mobile=f"1380000{i:04d}") for i in range(20)] + [row(mobile="1380000")]
    report = member_import(rows=rows, store_default=None, actor_user=None, dry_run=False)
    assert report.imported == 0 and [(e.row, e.field) for e in report.errors] == [(22, "mobile")]
    assert not Member.objects.exists() and not ConsentLog.objects.exists()


def test_kept_member_number_in_our_range_moves_the_sequence_past_it(store):
    (nxt,) = member_numbers_allocate(1)
    ours_later = member_numbers_allocate(1)[0]  # a valid number of ours, not used yet
    body = f"86{int(ours_later[2:11]) + 5:09d}"
    from members.services import member_number_check_digit

    kept = body + member_number_check_digit(body)
    member_import(rows=[row(member_no=kept)], store_default=None, actor_user=None, dry_run=False)
    assert int(member_numbers_allocate(1)[0][2:11]) > int(kept[2:11]) > int(nxt[2:11])


def test_member_number_already_in_use_is_reported(store):
    taken = MemberFactory().member_no
    report = member_import(rows=[row(member_no=taken)], store_default=None, actor_user=None, dry_run=True)
    assert [(e.row, e.field) for e in report.errors] == [(2, "member_no")]


def test_store_default_applies_to_rows_without_store_code(store):
    other = StoreFactory(code="BJ01")
    member_import(rows=[row(store_code=""), row(mobile="13800000002")], store_default=other, actor_user=None,
                  dry_run=False)
    assert dict(Member.objects.values_list("mobile_masked", "home_store__code")) == {
        "138****5678": "BJ01", "138****0002": "SH01"}


def test_row_without_store_and_no_default_is_an_error(store):
    report = member_import(rows=[row(store_code="")], store_default=None, actor_user=None, dry_run=True)
    assert [(e.row, e.field) for e in report.errors] == [(2, "store_code")]


def test_staff_of_one_store_cannot_import_into_another(store, desk):
    """MEM-9: rows of another store are errors; another store as default is refused."""
    other = StoreFactory(code="BJ01")
    report = member_import(rows=[row(), row(mobile="13800000002", store_code="BJ01")], store_default=None,
                           actor_user=desk, dry_run=True)
    assert [(e.row, e.field) for e in report.errors] == [(3, "store_code")]
    with pytest.raises(PermissionDenied):
        member_import(rows=[row()], store_default=other, actor_user=desk, dry_run=True)


def test_import_needs_the_import_permission(store):
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    with pytest.raises(PermissionDenied):
        member_import(rows=[row()], store_default=None, actor_user=cs, dry_run=True)


def test_duplicate_checks_against_the_database_are_batched(store, django_assert_max_num_queries):
    rows = [row(mobile=f"1380000{i:04d}", id_number=id_number(f"110105199003{i % 28 + 1:02d}{i:03d}"),
                birthday="") for i in range(300)]
    with django_assert_max_num_queries(5):
        report = member_import(rows=rows, store_default=None, actor_user=None, dry_run=True)
    assert report.ok, report.as_text()


# ---------------------------------------------------------------- files


def test_csv_with_chinese_headers(store):
    content = csv_bytes([row(), row(mobile="13800000002", gender="女")], headers=ZH_HEADERS)
    report = member_import_file(content=content, filename="会员.csv", store_default=None, actor_user=None,
                                dry_run=False)
    assert report.ok and report.imported == 2
    assert sorted(Member.objects.values_list("gender", flat=True)) == ["F", "M"]


def test_gbk_csv_as_excel_saves_it(store):
    content = csv_bytes([row(name="欧阳娜娜")], headers=ZH_HEADERS, encoding="gb18030")
    report = member_import_file(content=content, filename="members.CSV", store_default=None, actor_user=None,
                                dry_run=False)
    assert report.ok and Member.objects.get().name == "欧阳娜娜"


def test_xlsx_with_numbers_and_dates_as_excel_stores_them(store):
    data = tablib.Dataset(headers=ZH_HEADERS)
    data.append(["王芳", 13800000001, "女", dt.date(1985, 5, 6), "", "", "", "", "", "", "", "SH01", 1, ""])
    data.append(["赵磊", "13800000002", "M", dt.datetime(1991, 1, 2), "", "", "", "", "", "", "", "SH01", "否", ""])
    report = member_import_file(content=data.export("xlsx"), filename="members.xlsx", store_default=None,
                                actor_user=None, dry_run=False)
    assert report.ok, report.as_text()
    wang = Member.objects.get(name="王芳")
    assert wang.birthday == dt.date(1985, 5, 6) and wang.marketing_consent is True
    assert crypto.decrypt(wang.mobile_enc) == "13800000001"


def test_missing_required_column_and_unreadable_file_are_reported(store):
    content = "姓名,门店\n张三,SH01\n".encode()
    report = member_import_file(content=content, filename="a.csv", store_default=None, actor_user=None,
                                dry_run=True)
    assert [(e.row, e.field) for e in report.errors] == [(1, "file")] and "手机号" in report.errors[0].message
    report = member_import_file(content=b"not a zip", filename="a.xlsx", store_default=None, actor_user=None,
                                dry_run=True)
    assert [(e.row, e.field) for e in report.errors] == [(1, "file")]
    report = member_import_file(content=b"", filename="a.txt", store_default=None, actor_user=None, dry_run=True)
    assert not report.ok


# ---------------------------------------------------------------- mobile fast path


def _verdict(fn, value):
    try:
        return fn(value)
    except ValueError as exc:
        return f"error: {exc}"


def test_fast_mobile_check_agrees_with_the_full_check_on_every_five_digit_prefix():
    """The fast path of normalize_mobile must accept and reject exactly what the full check does."""
    rng = random.Random(8)
    values = [f"{prefix}{rng.randrange(10**6):06d}" for prefix in range(10000, 20000) for _ in range(2)]
    values += ["17400123456", "17406123456", "16101234567", "+86 138 1234 5678", "8613812345678",
               "138-1234-5678", "1381234567", "138123456789", "", "  13812345678 ", "17951123456", "12593123456"]
    mismatches = [v for v in values if _verdict(normalize_mobile, v) != _verdict(_normalize_mobile_full, v)]
    assert mismatches == []
    assert sum(not _verdict(normalize_mobile, v).startswith("error") for v in values) > 10000


# ---------------------------------------------------------------- command


def test_import_members_command_dry_run_then_commit(store, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([row(), row(mobile="13800000002")]))
    out = io.StringIO()
    call_command("import_members", str(path), stdout=out)
    assert "Dry run" in out.getvalue() and not Member.objects.exists()
    call_command("import_members", str(path), "--commit", stdout=io.StringIO())
    assert Member.objects.count() == 2


def test_import_members_command_store_option_and_exit_code_1_on_bad_rows(store, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([row(mobile="123"), row(mobile="13800000002", store_code="")]))
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_members", str(path), "--commit", stdout=out)
    assert exc.value.returncode == 1
    assert "row 2" in out.getvalue() and "row 3" in out.getvalue()
    assert not Member.objects.exists()
    path.write_bytes(csv_bytes([row(mobile="13800000002", store_code="")]))
    call_command("import_members", str(path), "--commit", "--store", "SH01", stdout=io.StringIO())
    assert Member.objects.get().home_store == store


# ---------------------------------------------------------------- desk page


def _upload(client, content: bytes, name: str = "members.csv", **data):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("desk_import:upload"), {"file": file, **data})


def test_desk_upload_shows_bad_rows_and_no_confirm_button(client, desk):
    client.force_login(desk)
    response = _upload(client, csv_bytes([row(), row(mobile="123")]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="import-report"' in page and '<td class="num mono">3</td>' in page and 'id="confirm-import"' not in page
    assert not Member.objects.exists()


def test_desk_upload_then_confirm_imports_the_same_file(client, desk):
    """MEM-8: dry-run report -> confirm imports the uploaded file without a second upload."""
    client.force_login(desk)
    assert client.get(reverse("desk_import:upload")).status_code == 200
    response = _upload(client, csv_bytes([row(store_code=""), row(mobile="13800000002")], headers=ZH_HEADERS))
    page = response.content.decode()
    assert 'id="confirm-import"' in page and not Member.objects.exists()
    token = response.context["token"]
    done = client.post(reverse("desk_import:confirm", args=[token]))
    assert done.status_code == 200 and 'id="import-done"' in done.content.decode()
    assert Member.objects.filter(home_store=desk.staff_profile.store, created_by=desk).count() == 2
    again = client.post(reverse("desk_import:confirm", args=[token]))
    assert again.status_code == 410 and Member.objects.count() == 2


def test_desk_confirm_token_belongs_to_the_uploading_session(client, desk, store):
    client.force_login(desk)
    token = _upload(client, csv_bytes([row()])).context["token"]
    other = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(other)  # a new session
    assert client.post(reverse("desk_import:confirm", args=[token])).status_code == 410
    assert not Member.objects.exists()


def test_desk_import_of_another_stores_rows_is_reported(client, desk):
    StoreFactory(code="BJ01")
    client.force_login(desk)
    response = _upload(client, csv_bytes([row(store_code="BJ01")]))
    assert [(e.row, e.field) for e in response.context["report"].errors] == [(2, "store_code")]
    assert "token" not in response.context


def test_chain_wide_importer_chooses_the_default_store(client, store):
    other = StoreFactory(code="BJ01")
    importer = make_staff(roles.FRONT_DESK, chain_wide=True)
    client.force_login(importer)
    response = _upload(client, csv_bytes([row(store_code="")]), store=other.pk)
    client.post(reverse("desk_import:confirm", args=[response.context["token"]]))
    assert Member.objects.get().home_store == other


def test_desk_import_needs_permission_and_login(client, store):
    assert client.get(reverse("desk_import:upload")).status_code == 302
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=store))
    assert client.get(reverse("desk_import:upload")).status_code == 403
    assert _upload(client, csv_bytes([row()])).status_code == 403
    assert client.post(reverse("desk_import:confirm", args=["x"])).status_code == 403


def test_desk_rejects_other_file_types(client, desk):
    client.force_login(desk)
    response = _upload(client, b"hello", name="members.txt")
    assert response.status_code == 200 and response.context["form"].errors["file"]


def test_commit_writes_an_audit_record(store):
    """SEC-2: imports of personal data are audit-logged."""
    from core.models import AuditLog

    staff = make_staff(store=store)
    report = member_import(rows=[row()], store_default=store, actor_user=staff, dry_run=False)
    assert report.imported == 1
    log = AuditLog.objects.get(action="import")
    assert log.actor == staff and "1" in log.detail


# ---------------------------------------------------------------- template download and navigation (issue 16)


def test_template_csv_has_the_headers_the_importer_reads_and_imports_once_filled(client, desk):
    client.force_login(desk)
    response = client.get(reverse("desk_import:template", args=["csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    content = response.content.decode("utf-8-sig")
    assert content.strip().split(",") == ZH_HEADERS
    filled = content + ",".join(row()[h] for h in HEADERS) + "\r\n"
    checked = _upload(client, filled.encode("utf-8-sig"), name="会员导入模板.csv")
    assert 'id="confirm-import"' in checked.content.decode()


def test_template_xlsx_has_the_headers_and_an_instructions_sheet(client, desk):
    from openpyxl import load_workbook

    client.force_login(desk)
    response = client.get(reverse("desk_import:template", args=["xlsx"]))
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    book = load_workbook(io.BytesIO(response.content))
    members, notes = book.worksheets
    assert [c.value for c in members[1]] == ZH_HEADERS
    assert [r[0].value for r in notes.iter_rows(min_row=2)] == ZH_HEADERS
    assert client.get(reverse("desk_import:template", args=["pdf"])).status_code == 404


def test_import_is_linked_from_the_desk_navigation_for_roles_that_may_import(client, desk, store):
    client.force_login(desk)
    assert reverse("desk_import:upload") in client.get(reverse("desk:home")).content.decode()
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=store))
    assert reverse("desk_import:upload") not in client.get(reverse("desk:home")).content.decode()
    assert client.get(reverse("desk_import:template", args=["csv"])).status_code == 403
