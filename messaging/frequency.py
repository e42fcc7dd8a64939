"""The marketing frequency cap (seed 003 3.3 避免过度打扰, SPEC MSG-5): at most
MessagingConfig.marketing_cap marketing messages and greetings per member within the last
marketing_cap_days days (rolling). One definition, used by message_send / messages_send_bulk
(greetings, single marketing sends, survey invitations) in Python and by campaign planning in SQL.

What counts: distinct events (one campaign reaching a member on two channels is one contact) of kind
marketing or greeting, created in the window, that were not skipped, cancelled or failed. A member at
the cap gets a SKIPPED message with CAP_ERROR, so the per-member result shows it, a re-run does not
reconsider it, and the campaign counts it (skipped_frequency_cap). Planners take one advisory lock
(cap_lock) so two campaigns planned at the same moment cannot both use a member's last slot."""
from __future__ import annotations

import datetime as dt

from django.db import connection

from .models import Message, MessageKind, MessagingConfig

CAP_KINDS = (MessageKind.MARKETING, MessageKind.GREETING)
NOT_COUNTED = (Message.Status.SKIPPED, Message.Status.CANCELLED, Message.Status.FAILED)
CAP_ERROR = "Marketing frequency cap reached (seed 003 3.3)."
_LOCK_KEY = "messaging:marketing_cap"


def cap_applies(kind: str, config: MessagingConfig) -> bool:
    return kind in CAP_KINDS and config.marketing_cap > 0


def window_start(*, now: dt.datetime, config: MessagingConfig) -> dt.datetime:
    return now - dt.timedelta(days=config.marketing_cap_days)


def cap_lock() -> None:
    """Serialise cap decisions until the end of the transaction (planners and bulk sends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_LOCK_KEY])


def at_cap_sql(member_column: str, *, event_key: str, now: dt.datetime, config: MessagingConfig
               ) -> tuple[str, list]:
    """SQL boolean: the member in `member_column` has reached the cap (this event itself not counted)."""
    sql = (f"(SELECT count(DISTINCT x.event_key) FROM {Message._meta.db_table} x "
           f"WHERE x.member_id = {member_column} AND x.kind = ANY(%s) AND NOT (x.status = ANY(%s)) "
           "AND x.created_at >= %s AND x.event_key <> %s) >= %s")
    return sql, [[str(k) for k in CAP_KINDS], [str(s) for s in NOT_COUNTED],
                 window_start(now=now, config=config), event_key, config.marketing_cap]


def members_at_cap(member_ids, *, event_keys, now: dt.datetime, config: MessagingConfig) -> set[int]:
    """The given members who have reached the cap (one query). `event_keys`: the events being sent,
    not counted (the same event on a second channel is the same contact)."""
    ids = [pk for pk in member_ids if pk is not None]
    if not ids or config.marketing_cap <= 0:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.member_id FROM {Message._meta.db_table} x "
            "WHERE x.member_id = ANY(%s) AND x.kind = ANY(%s) AND NOT (x.status = ANY(%s)) AND x.created_at >= %s "
            "AND NOT (x.event_key = ANY(%s)) "
            "GROUP BY x.member_id HAVING count(DISTINCT x.event_key) >= %s",
            [ids, [str(k) for k in CAP_KINDS], [str(s) for s in NOT_COUNTED],
             window_start(now=now, config=config), sorted(set(event_keys)), config.marketing_cap])
        return {row[0] for row in cursor.fetchall()}
