"""The words for the birthday offer in the birthday greeting (seed 003 3.3 个性化问候; issue 15): the
greeting must say what the birthday window really is (MemberDayConfig.birthday_window, the same rule
benefits.quote.in_birthday_window applies at the till) and the extra discount, or promise nothing
when no birthday discount is set. Registered in messaging.hooks by BenefitsConfig.ready()."""
from __future__ import annotations

import calendar
import datetime as dt

from .models import MemberDayConfig


def _md(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def birthday_offer_text(day: dt.date) -> str:
    """For members whose birthday is `day` (the greeting goes out on the birthday)."""
    config = MemberDayConfig.get()
    pct = config.birthday_discount_percent
    if not pct or pct <= 0:
        return ""
    W = MemberDayConfig.BirthdayWindow
    if config.birthday_window == W.MONTH:
        last = calendar.monthrange(day.year, day.month)[1]
        window = f"生日当月（{day.month}月1日至{day.month}月{last}日）"
    elif config.birthday_window == W.WEEK:
        monday = day - dt.timedelta(days=day.weekday())
        window = f"生日当周（{_md(monday)}至{_md(monday + dt.timedelta(days=6))}）"
    else:
        window = f"生日当天（{_md(day)}）"
    return f"{window}到店消费可享额外{pct.normalize():f}%优惠。"
