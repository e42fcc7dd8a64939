"""Every page each role reaches from its navigation renders in zh-hans with no English text of ours left
and no server error (issue 16, "Language").

Demo data (seed_demo, small) gives each persona its real pages; the crawl follows the links a page shows
(same site, GET only, at most a few pages per URL pattern, never logout or a download), as that user.
"English text of ours" is any text on the page that is a message of our catalogue in English, i.e. a
message that went out untranslated (a missing .mo entry, a string not marked for translation that equals
one that is, a label built in code without gettext)."""
import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import Resolver404, resolve
from django.utils import translation

from members.models import Member
from members.portal_auth import SESSION_KEY
from tests.core.test_catalogue import CATALOGUE, ROOT, entries

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T10:00+08:00")]

PAGES_PER_ROLE = 140
# At most one page per admin URL pattern (one change page per model) and two per desk/portal pattern.
NEVER = ("logout", "/i18n/", "download", "export", ".csv", "/api/", "/static/", "/media/", "qr.png", "/health")
STARTS = {
    "desk": ["/desk/"], "desk2": ["/desk/"], "cs": ["/desk/", "/desk/service/complaints/"],
    "ops": ["/desk/", "/desk/dashboards/"], "auditor": ["/desk/"], "admin": ["/admin/", "/desk/"],
}
IGNORED_TAGS = {"script", "style", "code", "pre", "textarea", "option", "svg"}


class _Page(HTMLParser):
    """Visible texts and links of a page. Skipped: code-like elements, and the admin's identifier columns
    (`field-code`: a benefit's or template's key is a key, shown as such)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.texts, self._skip = [], [], 0
        self._key_cell, self._key_depth = None, 0

    def handle_starttag(self, tag, attrs):
        if tag in IGNORED_TAGS:
            self._skip += 1
        attrs = dict(attrs)
        if self._key_cell == tag:
            self._key_depth += 1
        elif self._key_cell is None and "field-code" in (attrs.get("class") or "").split():
            self._key_cell, self._key_depth = tag, 1
        if tag == "a" and attrs.get("href") and "download" not in attrs:
            self.links.append(attrs["href"])
        for name in ("title", "placeholder", "aria-label"):
            if attrs.get(name):
                self.texts.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in IGNORED_TAGS and self._skip:
            self._skip -= 1
        if tag == self._key_cell:
            self._key_depth -= 1
            if not self._key_depth:
                self._key_cell = None

    def handle_data(self, data):
        if not self._skip and self._key_cell is None and data.strip():
            self.texts.append(data)


def english_messages() -> set[str]:
    """Our catalogue's English sentences whose Chinese differs: seen on a zh-hans page = not translated.
    Language names are left out: the switcher names each language in its own words (English, 简体中文)."""
    import subprocess

    from django.conf import settings

    flat = subprocess.run(["msgcat", "--no-wrap", str(ROOT / CATALOGUE)], check=True, capture_output=True, text=True)
    found = set()
    for e in entries(flat.stdout):
        text, chinese = e["msgid"], e.get("msgstr") or e.get("msgstr[0]") or ""
        if chinese and chinese != text and "%" not in text and "{" not in text and re.search(r"[A-Za-z]{3,}", text) \
                and (" " in text or len(text) >= 5):
            found.add(text.replace("\\n", " ").strip())
    return found - {"English", "Simplified Chinese"} - {name for _code, name in settings.LANGUAGES}


def crawl(client, starts: list[str], english: set[str]) -> tuple[list, list, int]:
    seen, per_pattern, errors, leftovers = set(), Counter(), [], []
    queue = deque((start, "") for start in starts)
    while queue and len(seen) < PAGES_PER_ROLE:
        url, source = queue.popleft()
        path = urlsplit(url).path
        if url in seen or any(n in url for n in NEVER):
            continue
        try:
            match = resolve(path)
        except Resolver404:
            errors.append((url, 404, f"no such URL, linked from {source}"))
            seen.add(url)
            continue
        pattern = match.route
        if per_pattern[pattern] >= (1 if path.startswith("/admin/") else 2):
            continue
        per_pattern[pattern] += 1
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        if response.status_code in (301, 302):
            queue.append((response["Location"], source))
            continue
        if response.status_code == 403 and path.startswith("/admin/"):
            continue  # the admin links related objects whether or not the role may open them (Django's own)
        if response.status_code != 200:
            errors.append((url, response.status_code, f"linked from {source}"))
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = _Page()
        page.feed(response.content.decode())
        for text in page.texts:
            cleaned = " ".join(text.split())
            if cleaned in english:
                leftovers.append((url, cleaned))
        for href in page.links:
            href = urldefrag(href)[0]
            if href.startswith("/") and not href.startswith("//"):
                queue.append((href, url))
    return errors, leftovers, len(seen)


@pytest.fixture
def demo_data():
    from io import StringIO

    with translation.override("zh-hans"):
        call_command("seed_demo", "--members", "40", stdout=StringIO())


def test_every_page_of_every_role_is_chinese_and_works(client, demo_data):
    english = english_messages()
    assert len(english) > 1000
    report = {}
    for username, starts in STARTS.items():
        client.force_login(User.objects.get(username=username))
        report[username] = crawl(client, starts, english)
        client.logout()
    member = Member.objects.get(name="王小明")
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    report["member"] = crawl(client, ["/portal/"], english)

    problems = []
    for role, (errors, leftovers, pages) in report.items():
        assert pages >= 10, f"{role}: only {pages} pages reached; the crawl did not run"
        problems += [f"{role} {url}: HTTP {status} {why}" for url, status, why in errors]
        problems += [f"{role} {url}: English left: {text!r}" for url, text in sorted(set(leftovers))]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
