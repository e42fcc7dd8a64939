"""The third-party packages speak Chinese too (issue 16, "Language": English left over).

django-unfold (the admin), django-axes and drf-spectacular ship no Chinese; django-celery-beat,
django-import-export and DRF lack some messages; django-filter ships zh_CN, which zh-hans does not read.
`locale_vendor/` holds the Chinese for all of them. The check re-extracts each installed package's
messages at test time, so an upgrade that brings new English fails here until they are translated."""
import gettext
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

ROOT = Path(settings.BASE_DIR)
VENDOR_PO = ROOT / "locale_vendor/zh_Hans/LC_MESSAGES/django.po"
VENDOR_PO_NAME = "locale_vendor/zh_Hans/LC_MESSAGES/django.po"
# package -> the locale of its own catalogue that zh-hans reads (None: it has none, all Chinese is ours)
PACKAGES = {
    "unfold": None,
    "axes": None,
    "drf_spectacular": None,
    "django_filters": None,
    "django_celery_beat": "zh_Hans",
    "import_export": "zh_Hans",
    "rest_framework": "zh_Hans",
}
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>")


def read_mo(path: Path) -> dict:
    with open(path, "rb") as f:
        return gettext.GNUTranslations(f)._catalog


def compile_po(po: Path, mo: Path, *, every_msgid: bool = False) -> dict:
    """gettext's own reading of a .po. With every_msgid, msgen first copies each msgid into its msgstr
    (msgfmt leaves untranslated entries out), so the result lists every message the .po holds."""
    if every_msgid:
        filled = subprocess.run(["msgen", str(po)], check=True, capture_output=True).stdout
        subprocess.run(["msgfmt", "-o", str(mo), "-"], input=filled, check=True)
    else:
        subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)
    return read_mo(mo)


def message_keys(catalog: dict) -> set:
    """Singular ids ("context\\x04id" with a context) and the singular of each plural entry."""
    return {k[0] if isinstance(k, tuple) else k for k in catalog if k and not (isinstance(k, tuple) and k[1])}


def lookup(catalog: dict, key: str) -> str | None:
    return catalog.get(key) or catalog.get((key, 0))


def package_messages(package: str, tmp_path: Path) -> set:
    """Every message the installed package marks for translation, extracted as makemessages does it
    (templates included), from a copy of the package so nothing installed is written to."""
    source = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    work = tmp_path / package
    shutil.copytree(source, work / "pkg", ignore=shutil.ignore_patterns("locale", "static", "__pycache__"))
    (work / "locale").mkdir()
    # Without settings makemessages writes to ./locale, never to the project's LOCALE_PATHS.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location", "-v", "0"],
                   cwd=work, env=env, check=True)
    po = work / "locale/zh_Hans/LC_MESSAGES/django.po"
    return message_keys(compile_po(po, work / "extracted.mo", every_msgid=True))


def needs_words(msgid: str) -> bool:
    """A message with English words in it (not only placeholders, markup and symbols)."""
    return bool(re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", msgid.split("\x04")[-1])))


@pytest.fixture(scope="module")
def vendor(tmp_path_factory) -> dict:
    return compile_po(VENDOR_PO, tmp_path_factory.mktemp("vendor") / "django.mo")


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_message_of_the_package_has_a_chinese_text(package, vendor, tmp_path):
    messages = package_messages(package, tmp_path)
    assert len(messages) > 3  # the extraction really ran
    own = {}
    if PACKAGES[package]:
        own_mo = Path(importlib.util.find_spec(package).submodule_search_locations[0]) / "locale" / \
            PACKAGES[package] / "LC_MESSAGES/django.mo"
        own = read_mo(own_mo)
    untranslated = sorted(
        m for m in messages
        if needs_words(m) and not any(CJK.search(lookup(c, m) or "") for c in (vendor, own))
    )
    assert not untranslated, (
        f"{len(untranslated)} messages of {package} have no Chinese text in {VENDOR_PO_NAME} "
        f"(msgfmt drops fuzzy entries, so a fuzzy one counts as missing): {untranslated[:30]}"
    )


def test_the_committed_mo_is_compiled_from_the_po(vendor):
    """The vendor .mo is committed (unlike ours, compiled at the end of a wave): it must not lag its .po."""
    assert read_mo(VENDOR_PO.with_suffix(".mo")) == vendor


def test_our_catalogue_wins_over_the_vendor_one():
    paths = [Path(p) for p in settings.LOCALE_PATHS]
    assert paths == [ROOT / "locale", ROOT / "locale_vendor"]


# ---------------------------------------------------------------- the admin as a user sees it

ENGLISH_LEFT_OVER = ["Welcome back to", "Return to site", "Type to search", "Reset filters", "No results found",
                     "Search apps and models", "successfully logged out", "Log in again", "Apply Filters",
                     "This page yielded into no results", "All applications"]


def english_in(response) -> list[str]:
    html = response.content.decode()
    return [phrase for phrase in ENGLISH_LEFT_OVER if phrase in html]


@pytest.mark.django_db
def test_the_admin_login_page_is_chinese(client):
    response = client.get("/admin/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "欢迎回到" in html and "返回站点" in html
    assert english_in(response) == []


@pytest.mark.django_db
def test_logging_out_of_the_admin_ends_on_a_chinese_page(admin_client):
    """Staff land on the desk's login page (LOGOUT_REDIRECT_URL); unfold's own logged-out page, shown when
    no redirect is set, is Chinese too."""
    response = admin_client.post("/admin/logout/", follow=True)
    assert response.status_code == 200 and "登录" in response.content.decode()
    assert english_in(response) == []
    with translation.override("zh-hans"):
        html = render_to_string("registration/logged_out.html", {"site_url": "/desk/", "site_title": "MemberHub"})
    assert "你已成功退出管理后台" in html and "重新登录" in html and "返回站点" in html
    assert [phrase for phrase in ENGLISH_LEFT_OVER if phrase in html] == []


@pytest.mark.django_db
def test_the_admin_index_is_chinese(admin_client):
    response = admin_client.get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "登录锁定" in html  # django-axes' app, not "Axes"
    assert ">Axes<" not in html
    assert english_in(response) == []


@pytest.mark.django_db
def test_an_admin_list_with_filters_and_no_results_is_chinese(admin_client):
    response = admin_client.get("/admin/core/jobrun/", {"status": "failed", "q": "nothing-like-this"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "未找到结果" in html and "重置筛选" in html and "此页面没有结果" in html
    assert english_in(response) == []


@pytest.mark.django_db
def test_the_admin_stays_english_in_english(client, admin_user):
    client.cookies["django_language"] = "en"
    assert "Welcome back to" in client.get("/admin/login/").content.decode()
    client.force_login(admin_user)
    response = client.get("/admin/core/jobrun/", {"status": "failed"})
    assert "No results found" in response.content.decode() and "Reset filters" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.pinned_at("2026-11-25T12:30+08:00", tick=False)
def test_login_records_read_in_chinese_in_the_admin(admin_client):
    """django-axes' records are titled by str(): Chinese f-strings replace its English ones (core.vendor_apps)."""
    from axes.models import AccessFailureLog, AccessLog
    from django.utils import timezone

    log = AccessLog.objects.create(username="clerk1", ip_address="10.0.0.1", user_agent="x")
    failure = AccessFailureLog(username="clerk1", ip_address="10.0.0.1", user_agent="x",
                               attempt_time=timezone.now(), locked_out=True)
    with translation.override("zh-hans"):
        assert str(log) == "clerk1 于 2026-11-25 12:30 登录"
        assert str(failure) == "clerk1 于 2026-11-25 12:30 从 10.0.0.1 登录失败（已锁定）"
    with translation.override("en"):
        assert str(log) == "Login of clerk1 at 2026-11-25 12:30"
    html = admin_client.get(f"/admin/axes/accesslog/{log.pk}/change/").content.decode()
    assert "clerk1 于 2026-11-25 12:30 登录" in html and "Access Log for" not in html
