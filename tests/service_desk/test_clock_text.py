"""Clocks in days and hours and the "assigned to me" queue filter (issue 16, 客服 desk)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from members import roles
from service_desk import selectors, services
from service_desk.clocks import duration_text
from tests.factories import make_staff

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 9, 1, 10, 0, tzinfo=SH)


def file(store, staff, **kw):
    values = {"channel": "desk", "category": "quality", "store": store, "description": "鞋子开胶了，要求退货",
              "contact_name": "李女士", "staff": staff}
    values.update(kw)
    return services.complaint_file(**values)


@pytest.mark.parametrize(("minutes", "text"), [
    (0, "0 h 00 min"), (200, "3 h 20 min"), (24 * 60 - 1, "23 h 59 min"), (24 * 60, "1 d 0 h"),
    (55 * 24 * 60 + 6 * 60 + 59, "55 d 6 h"), (-5, "0 h 00 min"),
])
def test_duration_text_is_days_and_hours_from_a_day_on(minutes, text):
    assert duration_text(minutes) == text


def test_duration_text_in_chinese(settings):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert duration_text(55 * 24 * 60 + 6 * 60) == "55 天 6 小时"
        assert duration_text(200) == "3 小时 20 分钟"


def test_queue_and_complaint_page_show_overdue_in_days_and_hours(client, store, agent):
    with time_machine.travel(T0, tick=False):
        complaint = file(store, agent)
    later = complaint.accept_due + dt.timedelta(days=55, hours=6, minutes=10)
    with time_machine.travel(later, tick=False):
        client.force_login(agent)
        html = client.get(reverse("sd_desk:queue")).content.decode()
        assert "overdue by 55 d 6 h" in html
        html = client.get(reverse("sd_desk:complaint"), {"id": complaint.pk}).content.decode()
        assert "overdue by 55 d 6 h" in html
        clock = selectors.complaint_current_clock(complaint)
        assert clock.text == "overdue by 55 d 6 h"


def test_queue_mine_filter_shows_only_complaints_assigned_to_me(client, store, agent):
    colleague = make_staff(roles.CUSTOMER_SERVICE, store=store)
    with time_machine.travel(T0, tick=False):
        mine = file(store, agent, assignee=agent)
        theirs = file(store, agent, assignee=colleague)
        nobody = file(store, agent)
    client.force_login(agent)
    html = client.get(reverse("sd_desk:queue"), {"mine": "on"}).content.decode()
    assert f"complaint-{mine.pk}" in html
    assert f"complaint-{theirs.pk}" not in html and f"complaint-{nobody.pk}" not in html
    html = client.get(reverse("sd_desk:queue")).content.decode()
    assert all(f"complaint-{c.pk}" in html for c in (mine, theirs, nobody))
    assert 'id="queue-mine"' in html
