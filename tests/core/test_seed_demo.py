"""Demo tooling: seed_demo (deterministic demo data), demo_logins, compilemessages_if_needed."""
import io
import os
import shutil
import time

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from stdnum.cn import ric

from core import crypto
from demo.management.commands import seed_demo
from members.models import ChangeRequest, ConsentLog, Member, StaffProfile
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_generated_members_depend_on_the_seed_only():
    first = seed_demo.generate_members(seed_demo.make_demo(7), 50)
    again = seed_demo.generate_members(seed_demo.make_demo(7), 50)
    other = seed_demo.generate_members(seed_demo.make_demo(8), 50)
    assert first == again
    assert [p["name"] for p in first] != [p["name"] for p in other]


def test_same_seed_gives_the_same_members_in_the_database():
    from django.db import transaction

    def seeded_names() -> list[str]:
        with transaction.atomic():
            _seed("--members", "25", "--seed", "11")
            names = list(Member.objects.order_by("pk").values_list("name", flat=True))
            transaction.set_rollback(True)  # back to an empty database for the second run
        return names

    first = seeded_names()
    assert not Member.objects.exists()
    assert seeded_names() == first


def test_seed_demo_loads_stores_staff_members_and_pending_work(client):
    output = _seed("--members", "60", "--stores", "3", "--seed", "3")
    assert "60 members" in output

    # K stores with real-sounding names, staff of store 1 and chain-wide roles
    assert [p.store.name for p in StaffProfile.objects.filter(user__username__in=["desk", "desk2", "cs"])] == \
        ["上海南京路店"] * 3
    assert StaffProfile.objects.get(user__username="ops").chain_wide
    assert StaffProfile.objects.get(user__username="auditor").chain_wide
    for username in ("desk", "desk2", "cs", "ops", "auditor", "admin"):
        response = client.post(reverse("admin:login"), {"username": username, "password": "memberhub-demo"})
        assert response.status_code == 302, username  # logged in and redirected
        client.logout()
    users = {u.username: u for u in User.objects.all()}
    assert all(u.is_staff for u in users.values()) and users["admin"].is_superuser
    assert users["desk"].has_perm("members.import_member") and not users["cs"].has_perm("members.import_member")

    active = Member.objects.filter(status=Member.Status.ACTIVE)
    assert active.count() == 61  # 60 + the portal demo member
    assert Member.objects.filter(status=Member.Status.PENDING, created_by__username="desk").count() == 3
    assert ChangeRequest.objects.filter(status="pending", requested_by__username="desk").count() == 1
    assert set(active.values_list("home_store__code", flat=True)) <= {"SH01", "BJ01", "GZ01"}
    assert set(active.values_list("tier__code", flat=True)) <= {"normal", "silver", "gold", "platinum"}
    assert active.filter(tier__code="normal").count() > active.filter(tier__code="silver").count()

    mobiles = [crypto.decrypt(m) for m in active.values_list("mobile_enc", flat=True)]
    assert len(set(mobiles)) == len(mobiles) and all(len(m) == 11 for m in mobiles)
    ids = [crypto.decrypt(x) for x in active.exclude(id_number_enc=None).values_list("id_number_enc", flat=True)]
    assert ids and all(ric.is_valid(x) for x in ids)
    for member in active.exclude(id_number_enc=None):
        assert ric.get_birth_date(crypto.decrypt(member.id_number_enc)) == member.birthday
    assert ConsentLog.objects.filter(member__in=active).count() == 2 * 61

    demo = Member.objects.get(mobile_hash=crypto.lookup_hash("13800138000"))
    assert demo.status == Member.Status.ACTIVE and demo.home_store.code == "SH01"


def test_seed_demo_serves_every_personas_first_run_task(client, settings, tmp_path):
    """Issue 16: a fresh `dev.py run` has something to redeem, book, attend, approve and work on."""
    from django.utils import timezone

    from care.models import ResponseReceipt, Survey
    from points.gift_images import validate_gift_image

    settings.MEDIA_ROOT = str(tmp_path)

    from amenities.models import Slot
    from engagement.models import Event, PartnerOffer
    from points.models import CouponType, Gift, Lottery
    from service_desk.models import Complaint, ComplaintStatus
    from tiers.models import TierProposal

    _seed("--members", "40", "--stores", "2", "--seed", "4")
    now = timezone.now()
    assert Gift.objects.filter(is_active=True, valid_from__lte=now, valid_to__gt=now, stock__gt=0).count() >= 5
    for gift in Gift.objects.all():  # each with a picture drawn at seed time, one the admin would accept
        assert gift.image and (tmp_path / gift.image.name).exists(), gift.name
        with gift.image.open("rb") as picture:
            validate_gift_image(picture)
    assert CouponType.objects.filter(is_active=True, points_cost__gt=0).count() >= 2
    lottery = Lottery.objects.get(starts_at__lte=now, ends_at__gt=now)
    assert {p.kind for p in lottery.prizes.all()} == {"points", "coupon", "gift", "nothing"}
    demo = Member.objects.get(mobile_hash=crypto.lookup_hash("13800138000"))
    bookable = Slot.objects.filter(starts_at__gt=now, resource__eligible_tiers=demo.tier)
    assert bookable.count() >= 20
    assert Event.objects.filter(starts_at__gt=now).exists()
    assert PartnerOffer.objects.filter(valid_from__lte=now, valid_until__gt=now).count() == 2
    assert TierProposal.objects.filter(status="pending").count() == 3
    open_cases = Complaint.objects.exclude(status=ComplaintStatus.CLOSED)
    assert open_cases.filter(close_due__gt=now).exists() and open_cases.filter(close_due__lte=now).exists()

    survey = Survey.objects.get(opens_at__lte=now, closes_at__gt=now)  # the member persona's survey to answer
    assert survey.questions.count() >= 5 and not ResponseReceipt.objects.filter(survey=survey, member=demo).exists()

    again = _seed("--members", "5", "--stores", "2", "--seed", "4")  # a second run adds no second catalogue
    assert "0 gifts (0 pictures)" in again and Gift.objects.count() == 5 and TierProposal.objects.count() == 3


def test_if_empty_leaves_an_existing_database_alone():
    MemberFactory()
    assert "not loaded" in _seed("--members", "10", "--if-empty")
    assert Member.objects.count() == 1


def test_seeding_twice_adds_members_without_clashing_numbers():
    _seed("--members", "10", "--seed", "5")
    _seed("--members", "10", "--seed", "5")  # same mobiles: taken ones are left out, no error
    assert Member.objects.filter(mobile_hash=crypto.lookup_hash("13800138000")).count() == 1


def test_demo_logins_prints_urls_and_accounts():
    out = io.StringIO()
    call_command("demo_logins", "--base-url", "http://demo.example:8000/", stdout=out)
    text = out.getvalue()
    for expected in ("http://demo.example:8000/portal/", "http://demo.example:8000/desk/",
                     "http://demo.example:8000/admin/", "http://demo.example:8000/api/docs/",
                     "memberhub-demo", "desk2", "auditor", "13800138000", "console"):
        assert expected in text


# ---------------------------------------------------------------- compilemessages_if_needed


PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Hello"
msgstr "你好"
"""


@pytest.fixture
def locale_dir(tmp_path, settings):
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    return tmp_path / "locale"


def test_compilemessages_if_needed_is_silent_without_locale_files(locale_dir):
    out, err = io.StringIO(), io.StringIO()
    call_command("compilemessages_if_needed", stdout=out, stderr=err)
    assert out.getvalue() == err.getvalue() == ""


def test_compilemessages_if_needed_tolerates_missing_msgfmt_when_mo_exists(locale_dir, monkeypatch):
    messages = locale_dir / "zh_Hans" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "django.mo").write_bytes(b"old")
    time.sleep(0.01)
    (messages / "django.po").write_text(PO)
    os.utime(messages / "django.mo", (1, 1))
    monkeypatch.setenv("PATH", "/nonexistent")
    err = io.StringIO()
    call_command("compilemessages_if_needed", stdout=io.StringIO(), stderr=err)
    assert "msgfmt not found" in err.getvalue()
    (messages / "django.mo").unlink()
    with pytest.raises(CommandError):
        call_command("compilemessages_if_needed", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext's msgfmt")
def test_compilemessages_if_needed_compiles_a_newer_po(locale_dir, monkeypatch, tmp_path):
    messages = locale_dir / "zh_Hans" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "django.po").write_text(PO)
    monkeypatch.chdir(tmp_path)  # compilemessages also walks the working directory
    call_command("compilemessages_if_needed", stdout=io.StringIO(), stderr=io.StringIO())
    mo = messages / "django.mo"
    assert mo.stat().st_size > 0 and mo.stat().st_mtime >= (messages / "django.po").stat().st_mtime


def test_compilemessages_if_needed_skips_up_to_date_catalogs(locale_dir, monkeypatch):
    messages = locale_dir / "zh_Hans" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "django.po").write_text(PO)
    os.utime(messages / "django.po", (1, 1))
    (messages / "django.mo").write_bytes(b"current")
    monkeypatch.setenv("PATH", "/nonexistent")  # would fail if it tried to compile
    err = io.StringIO()
    call_command("compilemessages_if_needed", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == "" and (messages / "django.mo").read_bytes() == b"current"


def test_seed_demo_purchases_reconcile_and_are_deterministic():
    """Demo purchases go in set-wise yet the ledger reconciles like purchase_post would leave it."""
    from django.core.management import call_command

    from points.models import Purchase
    from points.reconcile import reconcile

    call_command("seed_demo", "--members", "30", "--stores", "2", "--seed", "7")
    assert Purchase.objects.filter(source="demo").count() > 30
    assert reconcile() == []
