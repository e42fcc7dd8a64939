"""SMS rate limits edited as numbers per provider in the admin, not as JSON (issue 16, 运营经理)."""
import pytest
from django.test import Client

from messaging.models import MessagingConfig

pytestmark = pytest.mark.django_db


def test_rate_limits_are_a_number_per_provider(admin_client: Client):
    config = MessagingConfig.get() if hasattr(MessagingConfig, "get") else MessagingConfig.objects.get_or_create(pk=1)[0]
    config.rate_limits = {"aliyun": 200, "tencent": 200, "other": 7}
    config.save()
    url = f"/admin/messaging/messagingconfig/{config.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="rate_aliyun"' in body and 'name="rate_tencent"' in body and 'name="rate_limits"' not in body
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, (list, dict))}
    data.update({"rate_aliyun": "150", "rate_tencent": ""})
    for name, field in form.fields.items():
        if name not in data and field.required:
            data[name] = field.initial
    for key, value in list(data.items()):
        if isinstance(value, bool):
            if value:
                data[key] = "on"
            else:
                del data[key]
    r = admin_client.post(url, data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content[:500]
    config.refresh_from_db()
    assert config.rate_limits == {"aliyun": 150, "other": 7}  # tencent emptied = not limited; others kept
    bad = admin_client.post(url, {**data, "rate_aliyun": "0"})
    assert bad.status_code == 200 and bad.context["adminform"].form.errors["rate_aliyun"]
