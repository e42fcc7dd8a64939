"""The desk member workspace (issue 16, 前台): the search box on every desk page takes a scanned e-card QR,
a mobile as people write it, the last 4 digits with the name, and member numbers; an exact hit opens the
member. Store scope (SEC-3) holds for every form of the query."""
import pytest
import time_machine
from django.urls import reverse

from members import ecard, roles
from members.validation import normalize_mobile
from tests.factories import MemberFactory, StoreFactory, ensure_catalogue, make_staff

pytestmark = pytest.mark.django_db

MOBILE = "13800138000"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def desk(store):
    return make_staff(roles.FRONT_DESK, store=store)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, mobile=MOBILE, name="王小明")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def search(client, q):
    return client.get(reverse("desk:search"), {"q": q})


@pytest.mark.parametrize("written", [
    "138 0013 8000", "138-0013-8000", "+86 13800138000", "+86-138-0013-8000", "(+86) 138.0013.8000",
    "１３８ ００１３ ８０００", "+8613800138000", "13800138000",
])
def test_normalize_mobile_accepts_the_ways_people_write_a_mobile(written):
    assert normalize_mobile(written) == MOBILE


@pytest.mark.parametrize("written", ["138 0013 8000", "138-0013-8000", "+86 13800138000"])
def test_search_by_mobile_as_written_opens_the_member(client, desk, member, written):
    client.force_login(desk)
    response = search(client, written)
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:member", args=[member.member_no])


def test_search_by_written_mobile_stays_in_the_store_scope(client, desk):
    MemberFactory(mobile="13511112222", name="外店")  # another store
    client.force_login(desk)
    response = search(client, "135 1111 2222")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0


def test_search_by_scanned_ecard_qr_opens_the_member(client, desk, member):
    client.force_login(desk)
    response = search(client, ecard.qr_payload(member))
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:member", args=[member.member_no])


def test_search_by_forged_qr_says_so(client, desk, member):
    client.force_login(desk)
    payload = ecard.qr_payload(member)
    forged = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    response = search(client, forged)
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    assert "invalid or has expired" in response.content.decode()


def test_search_by_expired_qr_finds_nobody(client, desk, member, settings):
    client.force_login(desk)
    with time_machine.travel("2026-11-25T12:00+08:00", tick=False):
        payload = ecard.qr_payload(member)
    with time_machine.travel("2026-11-25T13:00+08:00", tick=False):
        response = search(client, payload)
    assert response.status_code == 200
    assert "invalid or has expired" in response.content.decode()


def test_search_by_other_stores_members_qr_is_not_found(client, desk):
    outsider = MemberFactory(mobile="13511113333")
    client.force_login(desk)
    response = search(client, ecard.qr_payload(outsider))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0


@pytest.mark.parametrize("q", ["8000 王小明", "王小明 8000", "王8000", "8000王"])
def test_search_by_last_four_digits_with_name(client, desk, store, member, q):
    MemberFactory(home_store=store, mobile="13900008000", name="李四")  # same last 4, other name
    MemberFactory(home_store=store, mobile="13800131234", name="王小明")  # same name, other last 4
    client.force_login(desk)
    response = search(client, q)
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:member", args=[member.member_no])


def test_search_by_last_four_digits_lists_every_match(client, desk, store, member):
    second = MemberFactory(home_store=store, mobile="13900008000", name="王小红")
    client.force_login(desk)
    response = search(client, "8000 王")
    assert response.status_code == 200
    found = {m.member_no for m in response.context["page"].object_list}
    assert found == {member.member_no, second.member_no}


def test_search_by_member_number_opens_the_member(client, desk, member):
    client.force_login(desk)
    response = search(client, member.member_no)
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:member", args=[member.member_no])


def test_every_desk_page_has_the_search_box(client, desk, member):
    client.force_login(desk)
    for name, args in (("desk:home", []), ("desk:member", [member.member_no]), ("desk:search", [])):
        body = client.get(reverse(name, args=args)).content.decode()
        assert 'id="quick-search"' in body
        assert f'action="{reverse("desk:search")}"' in body


# ---------------------------------------------------------------- the member page (summary, toasts, panels)


def _give(member, points):
    from django.db import transaction

    from points.services.ledger import Source, credit

    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"ws:{member.pk}:{points}", source=Source(reason="test"))


def test_member_page_has_the_sticky_summary_with_every_figure_slot(client, desk, member):
    client.force_login(desk)
    body = client.get(reverse("desk:member", args=[member.member_no])).content.decode()
    summary = body[body.index('id="member-summary"'):]
    summary = summary[:summary.index("</div>")]
    assert member.tier.name in summary
    assert reverse("points_desk:summary", args=[member.member_no]) in summary
    assert reverse("sd_desk:member_summary", args=[member.member_no]) in summary
    # the 客服 panel is filled by service_desk, the QR is folded away at the end
    service = body[body.index('id="panel-service"'):]
    service = service[:service.index("</section>")]
    assert reverse("sd_desk:member_panel", args=[member.member_no]) in service
    # one 客服 panel holds each app's section of the service history (core.panels DESK_MEMBER_SERVICE)
    assert 'id="service-care"' in service and 'id="service-amenities"' in service
    assert 'id="panel-care"' not in body and 'id="panel-amenities"' not in body
    assert "Not available yet." not in body
    assert body.index('id="panel-points"') < body.index('id="panel-ecard"')
    assert 'class="panel slot wide" id="panel-points"' in body


@pytest.mark.pinned_at("2026-11-25T12:00+08:00")
def test_points_summary_shows_balance_expiring_points_and_coupons(client, desk, member):
    import datetime as dt

    from points.models import Lot

    _give(member, 1200)
    Lot.objects.filter(member=member).update(expires_on=dt.date(2026, 12, 31))
    client.force_login(desk)
    response = client.get(reverse("points_desk:summary", args=[member.member_no]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="summary-balance"' in body and "<strong>1200</strong>" in body
    expiring = body[body.index('id="summary-expiring"'):]
    assert "<strong>1200</strong>" in expiring and "2026-12-31" in expiring
    assert response.context["coupons"] == 0
    # the big actions are in the sticky bar, each behind its permission
    actions = body[body.index('id="summary-actions"'):]
    assert reverse("points_desk:purchase", args=[member.member_no]) in actions
    assert reverse("points_desk:redeem", args=[member.member_no]) in actions


def test_summary_actions_follow_the_permissions(client, store, member):
    auditor = make_staff(roles.AUDITOR, store=store)
    client.force_login(auditor)
    response = client.get(reverse("points_desk:summary", args=[member.member_no]))
    assert response.status_code == 200  # the auditor reads points (view_entry) but posts nothing
    body = response.content.decode()
    assert 'id="summary-balance"' in body
    assert reverse("points_desk:purchase", args=[member.member_no]) not in body
    assert reverse("points_desk:adjust", args=[member.member_no]) not in body


def test_points_summary_of_another_stores_member_is_404(client, desk):
    client.force_login(desk)
    stranger = MemberFactory()
    assert client.get(reverse("points_desk:summary", args=[stranger.member_no])).status_code == 404
    assert client.get(reverse("sd_desk:member_summary", args=[stranger.member_no])).status_code == 404
    assert client.get(reverse("sd_desk:member_panel", args=[stranger.member_no])).status_code == 404


def test_service_panel_and_summary_show_the_members_complaints(client, store, member):
    from service_desk import services as sd_services

    agent = make_staff(roles.CUSTOMER_SERVICE, store=store)
    open_one = sd_services.complaint_file(channel="desk", category="quality", store=store, member=member,
                                          description="鞋子开胶了", contact_name="王", staff=agent)
    client.force_login(agent)
    body = client.get(reverse("sd_desk:member_summary", args=[member.member_no])).content.decode()
    assert 'id="summary-complaints"' in body and "<strong>1</strong>" in body
    response = client.get(reverse("sd_desk:member_panel", args=[member.member_no]))
    assert response.status_code == 200
    panel = response.content.decode()
    assert f"?id={open_one.pk}" in panel
    assert 'id="service-consultations"' in panel


def test_desk_purchase_result_is_a_toast_on_the_member_page(client, desk, member):
    import datetime as dt

    from django.utils import timezone

    ensure_catalogue()
    at = timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    data = {
        "order_no": "WS-0001", "occurred_at": at.strftime("%Y-%m-%dT%H:%M"),
        "lines-TOTAL_FORMS": "4", "lines-INITIAL_FORMS": "0",
        "lines-0-brand": "LANCOME", "lines-0-category": "化妆品", "lines-0-amount": "680.00",
        "tenders-TOTAL_FORMS": "3", "tenders-INITIAL_FORMS": "0",
        "tenders-0-type": "wechat", "tenders-0-amount": "680.00",
    }
    client.force_login(desk)
    response = client.post(reverse("points_desk:purchase", args=[member.member_no]), data, follow=True)
    body = response.content.decode()
    toasts = body[body.index('id="toasts"'):]
    assert 'class="msg success toast"' in toasts
    assert "680 points earned" in toasts
    assert 'data-dismiss="toast"' in toasts


def test_adjustment_waiting_for_approval_is_a_warning_toast_on_the_member_page(client, desk, member):
    from points.models import PointsConfig

    threshold = PointsConfig.get().adjustment_approval_threshold
    client.force_login(desk)
    response = client.post(reverse("points_desk:adjust", args=[member.member_no]),
                           {"points": threshold + 1, "reason": "活动补偿"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("desk:member", args=[member.member_no]))
    body = response.content.decode()
    toasts = body[body.index('id="toasts"'):]
    assert 'class="msg warning toast"' in toasts and "waits for" in toasts
    # and it stays in the sticky summary until decided
    summary = client.get(reverse("points_desk:summary", args=[member.member_no])).content.decode()
    assert 'id="summary-pending"' in summary and "<strong>1</strong>" in summary


def test_service_panel_and_summaries_have_bounded_queries(client, store, member, django_assert_max_num_queries):
    from service_desk import services as sd_services

    agent = make_staff(roles.CUSTOMER_SERVICE, store=store)
    for i in range(12):
        sd_services.complaint_file(channel="desk", category="quality", store=store, member=member,
                                   description=f"第{i}次投诉", contact_name="王", staff=agent)
    client.force_login(agent)
    client.get(reverse("desk:home"))  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get(reverse("sd_desk:member_panel", args=[member.member_no]))
    assert len(response.context["complaints"]) == 10
    with django_assert_max_num_queries(8):
        client.get(reverse("sd_desk:member_summary", args=[member.member_no]))
    with django_assert_max_num_queries(16):  # 14 today: session, scope, points_summary, expiry, coupons
        client.get(reverse("points_desk:summary", args=[member.member_no]))
