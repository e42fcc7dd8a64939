"""The desk purchase form (补录消费, issue 16): brand and category chosen from the catalogue, lines added as
needed, and the running total with the points preview the posting will credit."""
import pytest
from django.urls import reverse

from members import roles
from members.models import Brand
from points.models import Campaign, Purchase
from tests.factories import MemberFactory, StoreFactory, ensure_catalogue, make_staff
from tests.points.test_desk import purchase_data

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T15:00+08:00")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def desk(store, client):
    user = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(user)
    return user


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store)


def preview(client, member, data):
    response = client.post(reverse("points_desk:purchase_preview", args=[member.member_no]), data)
    assert response.status_code == 200
    return response.content.decode()


def test_lines_choose_brand_and_category_from_the_catalogue(client, desk, member):
    ensure_catalogue(brands=("LANCOME", "NIKE"), categories=("化妆品", "运动"))
    Brand.objects.filter(code="NIKE").update(name="耐克")
    Brand.objects.create(code="OLD", name="Old brand", is_active=False)
    body = client.get(reverse("points_desk:purchase", args=[member.member_no])).content.decode()
    assert '<select name="lines-0-brand"' in body and '<option value="NIKE">耐克 (NIKE)</option>' in body
    assert '<select name="lines-0-category"' in body and '<option value="运动">运动</option>' in body
    assert 'value="OLD"' not in body  # inactive brands are not offered
    # one line to start with; the template row adds more
    assert 'name="lines-TOTAL_FORMS" value="1"' in body and "lines-__prefix__-amount" in body


def test_brand_outside_the_catalogue_is_refused(client, desk, member):
    response = client.post(reverse("points_desk:purchase", args=[member.member_no]),
                           purchase_data("POS-X1", **{"lines-0-brand": "TYPO BRAND"}))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Purchase.objects.exists()


def test_two_lines_post_with_their_catalogue_codes(client, desk, member):
    ensure_catalogue(brands=("LANCOME", "NIKE"), categories=("化妆品", "运动"))
    data = purchase_data("POS-2L", amount="100.00", **{
        "lines-1-brand": "NIKE", "lines-1-category": "运动", "lines-1-amount": "50.50",
        "tenders-0-amount": "150.50"})
    response = client.post(reverse("points_desk:purchase", args=[member.member_no]), data)
    assert response.status_code == 302
    purchase = Purchase.objects.get(order_no="POS-2L")
    assert [line["brand"] for line in purchase.lines] == ["LANCOME", "NIKE"]
    assert purchase.amount_total == purchase.amount_paid


def test_preview_shows_the_running_total_and_the_points_the_posting_credits(client, desk, member, store):
    ensure_catalogue(brands=("LANCOME", "NIKE"), categories=("化妆品", "运动"))
    data = purchase_data("", amount="100.00", **{
        "lines-1-brand": "NIKE", "lines-1-category": "运动", "lines-1-amount": "50.50",
        "tenders-0-type": "", "tenders-0-amount": ""})
    body = preview(client, member, data)
    assert "150.50" in body and "2 lines" in body
    assert 'id="preview-points">150<' in body  # rate 1 on the whole bill
    assert 'id="preview-assumed"' in body  # no payment yet: assumed paid in full by an eligible one
    # a payment by gift card earns nothing on its share, as the posting will credit
    data.update({"tenders-0-type": "wechat", "tenders-0-amount": "100.50",
                 "tenders-TOTAL_FORMS": "2", "tenders-1-type": "gift_card", "tenders-1-amount": "50.00"})
    body = preview(client, member, data)
    assert 'id="preview-points">100<' in body and 'id="preview-assumed"' not in body
    # and it is what the posting then credits
    data["order_no"] = "POS-PV"
    client.post(reverse("points_desk:purchase", args=[member.member_no]), data)
    assert Purchase.objects.get(order_no="POS-PV").points_earned == 100


def test_preview_names_a_campaign_and_its_multiplier(client, desk, member, store):
    from django.utils import timezone

    now = timezone.now()
    campaign = Campaign.objects.create(name="双倍积分周", multiplier=2, starts_at=now - timezone.timedelta(days=1),
                                       ends_at=now + timezone.timedelta(days=1))
    body = preview(client, member, purchase_data("", amount="80.00"))
    assert campaign.name in body and 'id="preview-points">160<' in body


def test_preview_says_why_payments_do_not_match(client, desk, member):
    body = preview(client, member, purchase_data("", amount="80.00", **{"tenders-0-amount": "70.00"}))
    assert 'id="preview-problems"' in body and "do not add up" in body
    assert 'id="preview-points"' not in body


def test_preview_of_an_empty_form_asks_for_lines(client, desk, member):
    body = preview(client, member, {"lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
                                    "tenders-TOTAL_FORMS": "1", "tenders-INITIAL_FORMS": "0"})
    assert 'id="preview-empty"' in body


def test_preview_needs_the_posting_permission(client, member, store):
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=store))
    response = client.post(reverse("points_desk:purchase_preview", args=[member.member_no]), purchase_data(""))
    assert response.status_code == 403
