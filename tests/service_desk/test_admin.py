"""Unfold admin of the service desk: policy editable, FAQ saved through the service, records read-only."""
from __future__ import annotations

import pytest

from service_desk import selectors, services
from service_desk.models import Complaint, FaqArticle, SlaPolicy

pytestmark = pytest.mark.django_db


def test_admin_pages_load_and_faq_save_indexes(admin_client, store, agent):
    """SD-2: 15 seeded time-limit rows; SD-4: an article saved in the admin is searchable at once."""
    assert SlaPolicy.objects.count() == 15
    services.complaint_file(channel="desk", category="other", store=store, description="其他问题投诉",
                            contact_name="甲", staff=agent)
    for path in ["slapolicy", "complaint", "complaintevent", "escalation", "faqarticle", "consultation",
                 "staffnotice", "department", "tierslashortening"]:
        assert admin_client.get(f"/admin/service_desk/{path}/").status_code == 200, path
    complaint = Complaint.objects.get()
    assert admin_client.get(f"/admin/service_desk/complaint/{complaint.pk}/change/").status_code == 200
    r = admin_client.post("/admin/service_desk/faqarticle/add/", {
        "title": "积分过期规则", "body": "积分有效期24个月", "category": "points", "published": "on"})
    assert r.status_code == 302
    assert FaqArticle.objects.get().tokens
    assert list(selectors.faq_search("积分过期"))[0].title == "积分过期规则"
    assert admin_client.get("/admin/service_desk/complaint/add/").status_code == 403


def test_after_sales_and_escalation_admin(admin_client, store, agent, manager):
    """SD-7..9 in the admin: seeded after-sales and consultation limits, read-only cases with their
    hand-offs, and an escalation contact whose mobile is stored encrypted through the service."""
    from service_desk import after_sales
    from service_desk.models import AfterSalesPolicy, ConsultationTimeLimit, EscalationContact

    assert AfterSalesPolicy.objects.count() == 6 and ConsultationTimeLimit.objects.count() == 5
    case = after_sales.after_sales_open(kind="repair", channel="desk", store=store, product="吸尘器",
                                        description="吸力变弱", contact_name="王先生", staff=agent)
    after_sales.after_sales_handoff(case=case, staff=agent, vendor="品牌售后")
    for path in ["aftersalespolicy", "consultationtimelimit", "aftersalescase", "aftersaleshandoff",
                 "escalationcontact", f"aftersalescase/{case.pk}/change"]:
        assert admin_client.get(f"/admin/service_desk/{path}/").status_code == 200, path
    assert admin_client.get("/admin/service_desk/aftersalespolicy/add/").status_code == 403
    response = admin_client.post("/admin/service_desk/escalationcontact/add/", {
        "user": manager.pk, "mobile": "13800138000", "email": "", "by_sms": "on", "by_email": "on",
        "regional_stores": [store.pk]})
    assert response.status_code == 302, response.content.decode()[:500]
    contact = EscalationContact.objects.get(user=manager)
    assert contact.mobile_masked.startswith("138") and "13800138000" not in contact.mobile_enc
    assert list(contact.regional_stores.all()) == [store]


# ---------------------------------------------------------------- severities' default time limits (issue 16)


def test_severities_are_seeded_with_different_default_hours_and_shorten_the_seeded_policies():
    from service_desk.models import SeverityLevel, SlaPolicy

    hours = {lv.severity: (lv.accept_hours, lv.reply_hours, lv.close_hours) for lv in SeverityLevel.objects.all()}
    assert hours == {"normal": (24, 48, 72), "serious": (8, 24, 48), "urgent": (2, 8, 24)}
    urgent = SlaPolicy.objects.filter(severity="urgent")
    assert urgent.exists() and all((p.accept_hours, p.close_hours) == (2, 24) for p in urgent)


def test_a_severity_edited_in_the_admin_applies_to_its_policies_and_times_a_policy_less_complaint(client):
    import datetime as dt

    from django.contrib.auth.models import User
    from django.utils import timezone

    from service_desk.models import SeverityLevel, SlaPolicy
    from service_desk.services import complaint_deadlines

    client.force_login(User.objects.create_superuser("root2", "root2@example.com", "correct-horse-42"))
    level = SeverityLevel.objects.get(severity="serious")
    page = client.get(f"/admin/service_desk/severitylevel/{level.pk}/change/")
    assert page.status_code == 200
    response = client.post(f"/admin/service_desk/severitylevel/{level.pk}/change/", {
        "accept_hours": "6", "reply_hours": "12", "close_hours": "36", "description": "当日处理"})
    assert response.status_code == 302, response.content.decode()[:500]
    client.post("/admin/service_desk/severitylevel/", {"action": "apply_to_policies", "_selected_action": [level.pk]})
    assert set(SlaPolicy.objects.filter(severity="serious").values_list("close_hours", flat=True)) == {36}
    SlaPolicy.objects.filter(category="other", severity="serious").delete()
    received = timezone.now()
    deadlines = complaint_deadlines(category="other", severity="serious", member=None, received_at=received)
    assert deadlines.close_due - received == dt.timedelta(hours=36)
