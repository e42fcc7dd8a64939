"""core.web (issue 12): one response for a domain error per surface, Chinese error pages, JSON on the API."""
import pytest
from django.test import override_settings

from members import roles
from members.portal_auth import SESSION_KEY
from tests.factories import MemberFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.web_urls")]


def _portal_login(client, member):
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()


def test_a_domain_error_on_a_desk_page_is_the_error_page_with_its_status(client):
    client.force_login(make_staff(roles.FRONT_DESK))
    response = client.get("/desk/probe/")
    html = response.content.decode()
    assert response.status_code == 409
    assert 'class="error-message"' in html and "该订单已退款，不能再次退款。" in html
    assert "暂时无法办理" in html and "返回上一页" in html  # the title is translated; the code is not shown
    assert "already_refunded" not in html


def test_the_same_error_on_a_portal_page_has_the_same_shape(client):
    _portal_login(client, MemberFactory())
    response = client.get("/portal/probe/")
    assert response.status_code == 409
    assert 'class="error-message"' in response.content.decode()


def test_htmx_gets_the_message_as_a_fragment_with_the_status(client):
    client.force_login(make_staff(roles.FRONT_DESK))
    response = client.get("/desk/probe/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 409 and html.startswith("<div") and "<html" not in html
    assert 'data-code="already_refunded"' in html


def test_not_found_and_forbidden_are_chinese_pages(client):
    client.force_login(make_staff(roles.FRONT_DESK))
    missing = client.get("/desk/probe/?kind=missing")
    assert missing.status_code == 404 and "没有这位会员。" in missing.content.decode()
    assert "找不到该页面" in missing.content.decode()
    refused = client.get("/desk/probe-perm/")
    assert refused.status_code == 403
    assert "无权操作" in refused.content.decode()
    unknown = client.get("/desk/no-such-page/")
    assert unknown.status_code == 404 and 'class="error-message"' in unknown.content.decode()
    assert "Page not found" not in unknown.content.decode()


def test_anonymous_visitors_go_to_their_login(client):
    assert client.get("/desk/probe/")["Location"] == "/desk/login/?next=/desk/probe/"
    assert client.get("/portal/probe/")["Location"] == "/portal/login/"
    htmx = client.get("/portal/probe/", HTTP_HX_REQUEST="true")
    assert htmx.headers.get("HX-Redirect") == "/portal/login/"


def test_api_errors_are_json_in_the_documented_shape(client):
    body = client.get("/api/v1/no-such-endpoint/").json()
    assert set(body) == {"code", "detail", "fields"} and body["code"] == "not_found"


@override_settings(DEBUG=False)
def test_server_error_page_is_chinese_and_needs_no_context(rf):
    from core.web import handler500

    response = handler500(rf.get("/portal/"))
    assert response.status_code == 500 and "系统出错" in response.content.decode()
    api = handler500(rf.get("/api/v1/purchases/"))
    assert api.status_code == 500 and api["Content-Type"].startswith("application/json")
