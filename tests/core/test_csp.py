"""Content-Security-Policy (issue 13, SEC-5): the header on desk, portal and admin pages under
production-like settings, the admin's looser script-src, and no inline script in our templates."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings

from members.portal_auth import SESSION_KEY
from tests.factories import MemberFactory, StoreFactory, UserFactory, make_staff

from .test_foundation import PROD_ENV, _manage

ROOT = Path(__file__).resolve().parents[2]
STRICT = {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"], "object-src": ["'none'"], "base-uri": ["'self'"],
    "form-action": ["'self'"], "frame-ancestors": ["'none'"],
}
production_like = override_settings(CONTENT_SECURITY_POLICY_ENABLED=True, CONTENT_SECURITY_POLICY_REPORT_ONLY=False)


def directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in header.split(";") if part.strip())}


@pytest.fixture
def store(db):
    return StoreFactory()


@production_like
@pytest.mark.django_db
def test_desk_and_portal_pages_carry_the_strict_policy(client, store):
    member = MemberFactory(home_store=store)
    client.force_login(make_staff(store=store))
    desk = client.get(f"/desk/members/{member.member_no}/")
    assert desk.status_code == 200 and directives(desk) == STRICT
    client.logout()
    assert directives(client.get("/portal/login/")) == STRICT
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    home = client.get("/portal/")
    assert home.status_code == 200 and directives(home) == STRICT
    assert "'unsafe-eval'" not in home.headers["Content-Security-Policy"]


@production_like
@pytest.mark.django_db
def test_admin_policy_adds_only_unsafe_eval_for_alpine(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert directives(response) == {**STRICT, "script-src": ["'self'", "'unsafe-eval'"]}
    assert directives(client.get("/admin/login/"))["frame-ancestors"] == ["'none'"]


@production_like
@pytest.mark.django_db
def test_error_pages_carry_the_policy_too(client):
    response = client.get("/desk/no-such-page/")
    assert response.status_code in (302, 404) and directives(response) == STRICT


@override_settings(CONTENT_SECURITY_POLICY_ENABLED=True, CONTENT_SECURITY_POLICY_REPORT_ONLY=True)
@pytest.mark.django_db
def test_report_only_mode_sends_the_report_only_header(client):
    response = client.get("/portal/login/")
    assert "Content-Security-Policy" not in response.headers
    assert "default-src 'self'" in response.headers["Content-Security-Policy-Report-Only"]


def test_production_settings_switch_the_policy_on():
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY_ENABLED)",
                     env=PROD_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_our_templates_need_no_inline_script():
    """script-src 'self' holds only while no template has an inline <script>, an on...= handler or a
    javascript: URL; put code in static/ and data in json_script."""
    offenders = []
    for path in ROOT.glob("**/templates/**/*.html"):
        if ".venv" in path.parts:
            continue
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=\s*[\"']", r"javascript:"):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    # json_script renders <script type="application/json">, which is data, not code.
    offenders = [o for o in offenders if 'type="application/json"' not in o]
    assert offenders == []
