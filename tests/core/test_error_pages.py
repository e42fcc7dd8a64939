"""Not found and forbidden are our Chinese error pages on every surface, as production serves them (DEBUG
off, the real URLconf): the admin, the desk and the portal, including a form whose CSRF token expired
(issue 16, "Language": 403/404 were Django's English defaults)."""
import pytest
from django.test import Client, override_settings

from members import roles
from members.portal_auth import SESSION_KEY
from tests.factories import MemberFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("memberhub.urls")]

DJANGO_DEFAULTS = ["Not Found", "Page not found", "The requested resource was not found", "403 Forbidden",
                   "Forbidden", "CSRF verification failed", "Request aborted", "Server Error"]


def assert_chinese_error_page(response, status: int, title: str):
    html = response.content.decode()
    assert response.status_code == status
    assert 'class="error-message"' in html and title in html, html[:800]
    assert [text for text in DJANGO_DEFAULTS if text in html] == []


@pytest.fixture
def staff_client(client):
    client.force_login(make_staff(roles.FRONT_DESK))
    return client


@pytest.fixture
def member_client(client):
    session = client.session
    session[SESSION_KEY] = MemberFactory().pk
    session.save()
    return client


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/admin/nonexistent/", "/desk/nonexistent/", "/desk/members/NO-SUCH-NO/"])
def test_staff_surfaces_answer_an_unknown_page_in_chinese(staff_client, path):
    assert_chinese_error_page(staff_client.get(path), 404, "找不到该页面")


@override_settings(DEBUG=False)
def test_the_portal_answers_an_unknown_page_in_chinese(member_client):
    assert_chinese_error_page(member_client.get("/portal/nonexistent/"), 404, "找不到该页面")


@override_settings(DEBUG=False)
def test_the_admin_refuses_a_page_in_chinese(staff_client):
    """The front desk has no periodic-task permission: the admin's PermissionDenied is our page."""
    assert_chinese_error_page(staff_client.get("/admin/django_celery_beat/periodictask/"), 403, "无权")


@override_settings(DEBUG=False)
def test_the_desk_refuses_a_page_in_chinese(staff_client):
    assert_chinese_error_page(staff_client.get("/desk/audit/"), 403, "无权")


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/portal/login/", "/admin/login/", "/desk/search/"])
def test_an_expired_form_is_refused_in_chinese_on_each_surface(path):
    """A form posted without a valid CSRF token (the page sat open past the session): our 403 page."""
    response = Client(enforce_csrf_checks=True).post(path, {"mobile": "13800138000"})
    assert_chinese_error_page(response, 403, "刷新")


@override_settings(DEBUG=False)
def test_error_pages_stay_english_in_english(staff_client):
    staff_client.cookies["django_language"] = "en"
    html = staff_client.get("/desk/nonexistent/").content.decode()
    assert "找不到该页面" not in html and 'class="error-message"' in html
