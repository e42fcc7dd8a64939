"""The member persona's phone tasks of issue 16 on a 390×844 viewport in Chinese: redeem a gift with its
picture through the confirmation page (and a direct POST spends nothing), answer a survey one question per
screen with previous / next keeping the answers, sign up in two short steps.

Screenshots go to artifacts/screenshots/portal/ (gitignored; the path is printed) so a person looks at each
screen; the test checks what a look would catch: no sideways scrolling, one question on screen at a time."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from PIL import Image

from care.models import Choice, Question, ResponseReceipt, Survey
from members.portal_auth import SESSION_KEY
from points.models import GiftOrder
from tests.factories import MemberFactory, StoreFactory
from tests.points.test_portal import balance, give, make_gift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "portal"
WIDTH = 390


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, "the page scrolls sideways"


def _log_in(page, live_server, member) -> None:
    session = SessionStore()
    session[SESSION_KEY] = member.pk
    session.create()
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key,
                               "url": live_server.url}])


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), colour).save(out, format="PNG")
    return out.getvalue()


def test_member_redeems_a_gift_with_its_picture_through_the_confirmation(page, live_server, settings, tmp_path):
    print(f"\nscreenshots: {SHOTS}")
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = str(tmp_path)
    store = StoreFactory(name="南京西路店")
    member = MemberFactory(name="李娜", home_store=store)
    give(member, 12_000)
    cup = make_gift(name="保温杯", description="304不锈钢真空保温杯 500ml", points_cost=1_500, stock=10)
    cup.image.save("cup.png", ContentFile(_png("#1f6f8b")), save=True)
    make_gift(name="帆布购物袋", points_cost=600, stock=10)  # no picture: the initial stands in
    _log_in(page, live_server, member)

    page.goto("/portal/gifts/")
    image = page.locator(f"#gift-{cup.pk} img.gift-image")
    assert image.is_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 300
    _no_sideways_scroll(page)
    _shot(page, "10-gifts-with-pictures")

    page.click(f"#gift-{cup.pk} details summary")
    page.fill(f"#gift-{cup.pk} input[name=quantity]", "2")
    page.click(f"#gift-{cup.pk} form.gift-order button[type=submit]")
    page.wait_for_selector("#points-confirm")
    assert page.inner_text("#confirm-cost") == "3,000" and page.inner_text("#confirm-after") == "9,000"
    assert page.locator("#confirm-form input[name=confirm]").get_attribute("value")
    assert not GiftOrder.objects.exists()
    _no_sideways_scroll(page)
    _shot(page, "11-confirm")

    page.click("#confirm-submit")
    page.wait_for_url(re.compile(r"/portal/gifts/$"))
    order = GiftOrder.objects.get(member=member)
    assert order.quantity == 2 and balance(member) == 9_000
    _shot(page, "12-ordered")

    # the same order posted without the confirm page's token: nothing spent, the confirmation shown
    page.evaluate("""(data) => {
        const form = document.createElement('form'); form.method = 'post'; form.action = '/portal/gifts/order/';
        for (const [k, v] of Object.entries(data)) {
            const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; form.appendChild(i); }
        document.body.appendChild(form); form.submit(); }""", {
        "csrfmiddlewaretoken": page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value"),
        "gift": str(cup.pk), "quantity": "1", "store": str(store.pk), "request_id": "portal-direct-post"})
    page.wait_for_selector("#points-confirm")
    assert "请先确认" in page.inner_text(".messages")
    assert GiftOrder.objects.count() == 1 and balance(member) == 9_000
    _shot(page, "13-direct-post-goes-to-confirm")


def _survey() -> Survey:
    now = timezone.now()
    survey = Survey.objects.create(title="2026年度会员满意度调查", intro="感谢您抽出两分钟时间。",
                                   opens_at=now - timezone.timedelta(days=1), closes_at=now + timezone.timedelta(days=7))
    for order, text in enumerate(["您对门店环境的满意程度", "您对导购服务的满意程度"], start=1):
        Question.objects.create(survey=survey, order=order, text=text, kind=Question.Kind.RATING)
    pref = Question.objects.create(survey=survey, order=5, text="您最常购买的品类（可多选）",
                                   kind=Question.Kind.MULTIPLE, required=False)
    for order, text in enumerate(["服饰", "化妆品", "珠宝首饰"]):
        Choice.objects.create(question=pref, order=order, text=text)
    Question.objects.create(survey=survey, order=10, text="总体而言，您对我们的满意程度", kind=Question.Kind.RATING,
                            is_overall=True)
    Question.objects.create(survey=survey, order=20, text="您还有什么建议？", kind=Question.Kind.TEXT, required=False)
    return survey


def _visible_questions(page) -> list[str]:
    return [q for q in page.locator("#survey-form fieldset[data-step]").all() if q.is_visible()]


def test_member_answers_a_survey_one_question_per_screen(page, live_server):
    survey = _survey()
    member = MemberFactory(name="王芳")
    _log_in(page, live_server, member)
    page.goto(f"/portal/care/survey/?id={survey.pk}")
    page.wait_for_selector(".step-progress")
    assert len(_visible_questions(page)) == 1
    assert page.inner_text(".step-count") == "第 1 题 / 共 5 题"
    assert not page.is_visible("#survey-submit") and not page.is_visible(".step-back")
    _no_sideways_scroll(page)
    _shot(page, "20-survey-question-1")

    page.click(".step-next")  # unanswered: stays, says so
    assert page.is_visible(".step-hint") and "请先回答本题" in page.inner_text(".step-hint")
    _shot(page, "21-survey-needs-an-answer")
    first, second = survey.questions.order_by("order")[:2]
    page.click(f"label[for=q{first.pk}-4]")  # the fourth star
    star = page.locator(f"label[for=q{first.pk}-4]")
    assert star.bounding_box()["width"] >= 40  # big enough to tap
    _shot(page, "22-survey-four-stars")
    page.click(".step-next")
    assert page.inner_text(".step-count") == "第 2 题 / 共 5 题"
    page.click(f"label[for=q{second.pk}-5]")
    page.click(".step-back")  # back: the first answer is still there
    assert page.is_checked(f"#q{first.pk}-4")
    page.click(".step-next")
    assert page.is_checked(f"#q{second.pk}-5")
    page.click(".step-next")
    page.click("#survey-form .survey-choices label:has-text('化妆品')")
    _shot(page, "23-survey-choices")
    page.click(".step-next")
    overall = survey.questions.get(is_overall=True)
    page.click(f"label[for=q{overall.pk}-5]")
    page.click(".step-next")
    assert page.inner_text(".step-count") == "第 5 题 / 共 5 题" and page.is_visible("#survey-submit")
    page.fill("#survey-form textarea", "希望增加休息座椅")
    _no_sideways_scroll(page)
    _shot(page, "24-survey-last-question")
    page.click("#survey-submit")
    page.wait_for_url(re.compile(r"/portal/care/surveys/"))
    assert ResponseReceipt.objects.filter(survey=survey, member=member).exists()
    _shot(page, "25-survey-thanks")


def test_member_signs_up_in_two_short_steps(page, settings):
    from core import crypto
    from members.models import Member
    from messaging.sms import InMemoryBackend

    store = StoreFactory(name="南京路店")
    mobile = "13812349876"
    page.goto("/portal/signup/")
    page.wait_for_selector(".step-progress")
    assert page.inner_text(".step-count") == "第 1 步 / 共 2 步"
    assert page.is_visible("input[name=mobile]") and not page.is_visible("input[name=name]")
    _no_sideways_scroll(page)
    _shot(page, "30-signup-step-1")
    page.fill("input[name=mobile]", mobile)
    before = len(InMemoryBackend.outbox)
    page.click("#send-code")
    page.wait_for_selector("#code-status .code-status.ok")
    code = re.search(r"(\d{6})", InMemoryBackend.outbox[before].text).group(1)
    page.click(".step-next")  # no code typed yet: stays on step 1
    assert page.is_visible(".step-hint") and page.is_visible("input[name=sms_code]")
    page.fill("input[name=sms_code]", code)
    _shot(page, "31-signup-step-1-code")
    page.click(".step-next")
    assert page.inner_text(".step-count") == "第 2 步 / 共 2 步"
    assert page.is_visible("input[name=name]") and not page.is_visible("input[name=mobile]")
    assert not page.is_visible("input[name=email]")  # the optional rest is folded away
    _no_sideways_scroll(page)
    _shot(page, "32-signup-step-2")
    page.fill("input[name=name]", "赵敏")
    page.fill("input[name=birthday]", "1992-05-20")
    page.select_option("select[name=home_store]", str(store.pk))
    page.check("input[name=privacy_accepted]")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/portal/$"))
    member = Member.objects.get(mobile_hash=crypto.lookup_hash(mobile))
    assert member.status == Member.Status.ACTIVE and member.home_store_id == store.pk
    _shot(page, "33-signed-up")


def test_a_wrong_code_brings_the_member_back_to_step_1_with_the_answers_kept(page, settings):
    store = StoreFactory(name="南京路店")
    page.goto("/portal/signup/")
    page.wait_for_selector(".step-progress")
    page.fill("input[name=mobile]", "13812340000")
    page.fill("input[name=sms_code]", "000000")
    page.click(".step-next")
    page.fill("input[name=name]", "赵敏")
    page.select_option("select[name=home_store]", str(store.pk))
    page.check("input[name=privacy_accepted]")
    page.click("#signup-form button[type=submit]")
    page.wait_for_selector("#signup-form .has-error")
    assert page.inner_text(".step-count") == "第 1 步 / 共 2 步"  # the step with the error opens first
    assert page.input_value("input[name=mobile]") == "13812340000"
    _shot(page, "34-signup-wrong-code")
