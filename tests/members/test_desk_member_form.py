"""The desk's member forms (issue 16): the company block only for a corporate member (required there, refused
on a personal one), province–city–district chosen from GB/T 2260 with dependent selects, the division code
stored and the names shown; the review queue shows what is approved and no approve button on one's own entry."""
import pytest
from django.urls import reverse

from members import divisions, roles
from members.models import ChangeRequest, CorporateProfile, Member
from members.services import Actor, change_request_submit
from members.validation import clean_member_data
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_desk import SIGNUP

pytestmark = pytest.mark.django_db


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


def url(name, *args):
    return reverse(f"desk:{name}", args=args)


def test_division_index_reads_gb2260_codes_with_municipalities_and_their_parents():
    assert {"110000", "440000", "500000", "810000"} <= {p.code for p in divisions.provinces()}
    assert divisions.names_for("440305") == divisions.DivisionNames(
        "440305", "广东省", "深圳市", "南山区", ("440000", "440300", "440305"))
    beijing = divisions.names_for("110105")  # a municipality: the city is Beijing itself
    assert (beijing.province, beijing.city, beijing.district) == ("北京市", "北京市", "朝阳区")
    assert divisions.path_of("110105") == ("110000", "110100", "110105")
    assert divisions.names_for("999999") is None and divisions.children_of("") == []


def test_clean_member_data_takes_the_names_of_the_division_code():
    out = clean_member_data({"name": "李四", "mobile": "13812345678", "division_code": "440305",
                             "province": "typed", "city": "", "district": ""})
    assert (out["division_code"], out["province"], out["city"], out["district"]) == (
        "440305", "广东省", "深圳市", "南山区")
    with pytest.raises(Exception) as exc:
        clean_member_data({"name": "李四", "mobile": "13812345678", "division_code": "123456"})
    assert "division_code" in exc.value.fields


def test_signup_stores_the_division_code_and_shows_the_names(client, desk):
    page = client.get(url("member_new")).content.decode()
    assert '<select name="province"' in page and '<option value="440000">广东省</option>' in page
    assert f'hx-get="{url("divisions")}"' in page
    response = client.post(url("member_new"), {**SIGNUP, "province": "440000", "city": "440300",
                                                "district": "440305"})
    assert response.status_code == 302, response.context["form"].errors
    member = Member.objects.get()
    assert (member.division_code, member.province, member.city, member.district) == (
        "440305", "广东省", "深圳市", "南山区")
    assert "广东省 深圳市 南山区" in client.get(url("member", member.member_no)).content.decode()


def test_a_district_outside_the_chosen_city_is_refused(client, desk):
    response = client.post(url("member_new"), {**SIGNUP, "province": "440000", "city": "440300",
                                                "district": "110105"})
    assert response.status_code == 400 and "district" in response.context["form"].errors
    response = client.post(url("member_new"), {**SIGNUP, "province": "110000", "city": "440300"})
    assert response.status_code == 400 and "city" in response.context["form"].errors
    assert not Member.objects.exists()


def test_dependent_selects_get_their_options(client, desk):
    cities = client.get(url("divisions"), {"province": "440000"}).content.decode()
    assert '<option value="440300">深圳市</option>' in cities
    assert 'id="id_district" hx-swap-oob="innerHTML"' in cities  # a new province empties the districts
    districts = client.get(url("divisions"), {"city": "440300"}).content.decode()
    assert '<option value="440305">南山区</option>' in districts and "hx-swap-oob" not in districts


def test_company_block_is_for_corporate_members_only(client, desk):
    page = client.get(url("member_new")).content.decode()
    block = page[page.index('id="corporate-block"') - 80:page.index('id="corporate-block"') + 120]
    assert "hidden" in block  # a personal member (the default) does not see it
    # refused on a personal member, whatever the page sent
    response = client.post(url("member_new"), {**SIGNUP, "company_name": "某公司"})
    assert response.status_code == 400
    assert "Only a corporate member" in str(response.context["form"].errors["company_name"])
    body = response.content.decode()
    block = body[body.index('id="corporate-block"') - 80:body.index('id="corporate-block"') + 120]
    assert "hidden" not in block  # its error is shown
    # required on a corporate member
    response = client.post(url("member_new"), {**SIGNUP, "kind": "corporate", "company_name": "某公司"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "credit_code" in errors and "contact_person" in errors
    assert not Member.objects.exists() and not CorporateProfile.objects.exists()


def test_change_request_chooses_a_new_division_and_the_review_shows_now_and_requested(client, desk, store):
    member = MemberFactory(home_store=store, name="王五")
    change_request_submit(member=member, changes={"division_code": "110105"}, actor=Actor.staff(desk))
    member.refresh_from_db()
    assert member.division_code == ""  # waits for review
    request = ChangeRequest.objects.get()
    reviewer = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(reviewer)
    body = client.get(url("reviews")).content.decode()
    card = body[body.index(f'id="change-{request.pk}"'):]
    card = card[:card.index("</article>")]
    assert 'data-field="district"' in card and "朝阳区" in card and "北京市" in card
    assert 'value="approve"' in card
    client.post(url("review_change", request.pk), {"decision": "approve"})
    member.refresh_from_db()
    assert (member.division_code, member.city, member.district) == ("110105", "北京市", "朝阳区")

    # the edit form starts at the member's division
    client.force_login(desk)
    page = client.get(url("member", member.member_no)).content.decode()
    assert '<option value="110105" selected>朝阳区</option>' in page


def test_own_signup_and_own_change_request_show_no_decision_buttons(client, desk, store):
    client.post(url("member_new"), {**SIGNUP})
    member = Member.objects.get()
    other = MemberFactory(home_store=store)
    change_request_submit(member=other, changes={"occupation": "教师"}, actor=Actor.staff(desk))
    desk.groups.add(*make_staff(roles.OPERATIONS_MANAGER, store=store).groups.all())
    desk = type(desk).objects.get(pk=desk.pk)
    client.force_login(desk)
    body = client.get(url("reviews")).content.decode()
    signup = body[body.index(f'id="signup-{member.member_no}"'):]
    signup = signup[:signup.index("</article>")]
    assert "own-entry" in signup and 'value="approve"' not in signup and "李四" in signup
    change = body[body.index('id="change-'):]
    change = change[:change.index("</article>")]
    assert "own-entry" in change and 'value="approve"' not in change and "教师" in change
