"""Writes of the evaluation app other than the nightly snapshots (evaluation.rfm / closeness /
lifecycle): saved segments and referrals."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, ValidationFailed
from members.models import Member

from .locks import segment_lock
from .models import Referral, Segment
from .selectors import segment_definition_errors


@transaction.atomic
def segment_save(*, name: str, definition: dict, description: str = "", staff=None,
                 segment: Segment | None = None) -> Segment:
    """Create a segment, or change `segment`; the definition is checked before it is stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the segment a name."), fields={"name": [_("Required.")]})
    errors = segment_definition_errors(definition)
    if errors:
        raise ValidationFailed(_("The segment definition is not valid."), code="segment_definition",
                               fields={"definition": errors})
    if Segment.objects.filter(name=name).exclude(pk=segment.pk if segment else None).exists():
        raise Conflict(_("A segment with this name exists already."), code="segment_name_taken",
                       fields={"name": [_("Choose another name.")]})
    if segment is None:
        segment = Segment(created_by=staff)
    else:
        segment = segment_lock(segment.pk)
    segment.name, segment.description, segment.definition = name, description, definition
    segment.save()
    return segment


def referral_record(*, referrer: Member, referred: Member, staff=None, note: str = "") -> Referral:
    """Record that `referrer` brought `referred` in; a member is referred once."""
    if referrer.pk == referred.pk:
        raise ValidationFailed(_("A member cannot refer themselves."), code="referral_self")
    try:
        with transaction.atomic():
            return Referral.objects.create(referrer=referrer, referred=referred, created_by=staff, note=note)
    except IntegrityError:
        raise Conflict(_("This member's referral is already recorded."), code="referral_exists") from None
