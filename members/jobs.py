"""Nightly member jobs, registered with the job framework."""
from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .models import Member, MemberTag, Tag
from .retention import retention_apply
from .selectors import rule_queryset


@register_job("refresh_rule_tags", label=gettext_lazy("Refresh rule-based tags"))
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
            # The members who lose the tag are marked changed (updated_at) in the same statement: a deleted
            # row leaves nothing for the nightly refreshes (consumption cube, purchase summary) to find.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {MemberTag._meta.db_table} WHERE tag_id = %s "
                f"AND member_id NOT IN ({sql}) RETURNING member_id) "
                f"UPDATE {Member._meta.db_table} SET updated_at = %s WHERE id IN (SELECT member_id FROM gone)",
                [tag.pk, *params, timezone.now()],
            )
            removed += cursor.rowcount
        ctx.progress(i)
    return {"tags": len(tags), "added": added, "removed": removed}


@register_job("purge_sms_codes", label=gettext_lazy("Purge old SMS codes"))
def purge_sms_codes(ctx: JobContext) -> dict:
    """SMS codes only: the sms_codes rule of the retention schedule (default a week, SEC-1), by hand.
    Nightly, apply_retention runs it with the other rules."""
    records = retention_apply(run_by="purge_sms_codes", job_run=ctx.run, targets={"sms_codes"})
    return {"deleted": sum(r.rows for r in records)}


@register_job("apply_retention", label=gettext_lazy("Apply the data retention schedule"))
def apply_retention(ctx: JobContext) -> dict:
    """The retention schedule (seed 000 信息安全; PIPL art. 19/47): purge or anonymise, set-wise per rule,
    what is past its period; the purge register gets one row per rule per run."""
    records = retention_apply(run_by="apply_retention", job_run=ctx.run)
    return {r.target: r.rows for r in records}
