"""Writes of the benefits app (BEN-3). The member-day points multiplier is not computed here: it is
a member-day-only points campaign kept in step with MemberDayConfig, so points.calculation stays
the one calculation of points (purchase API and checkout quote alike)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from points.models import Campaign

from .locks import member_day_config_lock
from .models import MemberDayConfig

_FOREVER = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


def _percent(value, field: str) -> Decimal:
    value = Decimal(str(value))
    if not (0 <= value < 100):
        raise ValidationFailed(_("A discount percent is from 0 to under 100."), fields={field: [_("0 to 99.99.")]})
    return value


@transaction.atomic
def member_day_config_update(*, member_day_discount_percent, member_day_points_multiplier, birthday_window: str,
                             birthday_discount_percent) -> MemberDayConfig:
    """Change the member day and birthday offers. A multiplier above 1 activates the member-day
    campaign (created on first use), 1 deactivates it."""
    config = member_day_config_lock() or MemberDayConfig.get()
    multiplier = Decimal(str(member_day_points_multiplier))
    if multiplier < 1:
        raise ValidationFailed(_("The member day multiplier is at least 1."),
                               fields={"member_day_points_multiplier": [_("At least 1.")]})
    if birthday_window not in MemberDayConfig.BirthdayWindow.values:
        raise ValidationFailed(_("Choose day, week or month."), fields={"birthday_window": [_("Unknown window.")]})
    config.member_day_discount_percent = _percent(member_day_discount_percent, "member_day_discount_percent")
    config.birthday_discount_percent = _percent(birthday_discount_percent, "birthday_discount_percent")
    config.birthday_window = birthday_window
    config.member_day_points_multiplier = multiplier
    campaign = config.member_day_campaign
    if campaign is None and multiplier > 1:
        campaign = Campaign.objects.create(name=str(_("Member day points")), starts_at=_FOREVER[0],
                                           ends_at=_FOREVER[1], member_day_only=True, multiplier=multiplier)
        config.member_day_campaign = campaign
    elif campaign is not None:
        campaign.multiplier = multiplier
        campaign.is_active = multiplier > 1
        campaign.save(update_fields=["multiplier", "is_active"])
    config.updated_at = timezone.now()
    config.save()
    return config
