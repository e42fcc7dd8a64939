"""Nightly member jobs, registered with the job framework."""
from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from core.jobs import JobContext, register_job

from .models import MemberTag, SmsCode, Tag
from .selectors import rule_queryset


@register_job("refresh_rule_tags")
def refresh_rule_tags(ctx: JobContext) -> dict:
    """Rule tags follow their saved filter: set-wise INSERT ... SELECT and DELETE per tag."""
    tags = list(Tag.objects.filter(kind=Tag.Kind.RULE))
    ctx.progress(0, len(tags))
    added = removed = 0
    for i, tag in enumerate(tags, 1):
        matching = rule_queryset(tag.rule, today=ctx.date).values("pk")
        sql, params = matching.query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {MemberTag._meta.db_table} (member_id, tag_id, added_at) "
                f"SELECT m.id, %s, %s FROM ({sql}) AS m(id) ON CONFLICT (member_id, tag_id) DO NOTHING",
                [tag.pk, timezone.now(), *params],
            )
            added += cursor.rowcount
            cursor.execute(
                f"DELETE FROM {MemberTag._meta.db_table} WHERE tag_id = %s AND member_id NOT IN ({sql})",
                [tag.pk, *params],
            )
            removed += cursor.rowcount
        ctx.progress(i)
    return {"tags": len(tags), "added": added, "removed": removed}


@register_job("purge_sms_codes")
def purge_sms_codes(ctx: JobContext) -> dict:
    """SMS codes are only needed for rate limits (a day); keep a week, then delete (SEC-1)."""
    cutoff = timezone.now() - dt.timedelta(days=7)
    deleted, _ = SmsCode.objects.filter(created_at__lt=cutoff).delete()
    return {"deleted": deleted}
