"""Admin of benefits (BEN-1, BEN-3): the catalogue with tier values inline; the settings row saved
through the service, which keeps the member-day points campaign in step."""
import pytest
from django.contrib.auth.models import User

from benefits.models import Benefit, MemberDayConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "correct-horse-42"))
    return client


def test_catalogue_pages_render_with_tier_values_inline(admin_client):
    benefit = Benefit.objects.get(code="discount")
    assert admin_client.get("/admin/benefits/benefit/").status_code == 200
    r = admin_client.get(f"/admin/benefits/benefit/{benefit.pk}/change/")
    assert r.status_code == 200 and "9折" in r.content.decode()


def test_saving_member_day_settings_goes_through_the_service(admin_client):
    r = admin_client.post("/admin/benefits/memberdayconfig/1/change/", {
        "member_day_discount_percent": "5", "member_day_points_multiplier": "2", "birthday_window": "month",
        "birthday_discount_percent": "8"})
    assert r.status_code == 302, r.content.decode()[:2000]
    config = MemberDayConfig.get()
    assert config.birthday_window == "month" and config.member_day_campaign.multiplier == 2
    assert config.member_day_campaign.member_day_only and config.member_day_campaign.is_active
