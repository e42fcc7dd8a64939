"""Messaging jobs (run_job / beat): release quiet-hours holds and due retries; greetings."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.jobs import JobContext, register_job

from .delivery import due_message_ids, fail_stuck_sending
from .models import MessagingConfig

BATCH = 200
MAX_PER_RUN = 200_000


@register_job("retry_due_messages", label=gettext_lazy("Send held and retried messages"))
def retry_due_messages(ctx: JobContext) -> dict:
    """Queue what is due: messages held by quiet hours whose window opened, retries whose back-off
    has passed, first sends whose task was lost. Idempotent: delivery claims each message once,
    so a re-run (or a run next to the tasks) sends nothing twice."""
    from .services import messages_enqueue

    now = timezone.now()
    stuck = fail_stuck_sending(now=now, config=MessagingConfig.get())
    ids = due_message_ids(now=now, limit=MAX_PER_RUN)
    ctx.progress(0, len(ids))
    for start in range(0, len(ids), BATCH):
        messages_enqueue(ids[start:start + BATCH])
        ctx.progress(min(start + BATCH, len(ids)))
    return {"queued": len(ids), "stuck_failed": stuck}


@register_job("send_greetings", label=gettext_lazy("Send birthday and holiday greetings"))
def send_greetings(ctx: JobContext) -> dict:
    """Birthday greetings for members born on this day, holiday greetings on a calendar holiday
    (MSG-2; seed 003 3.3 个性化问候). Once per member and year (event key), held until quiet hours end like
    all greetings. Greetings need marketing consent and count towards the marketing frequency cap
    (messaging.frequency; members at the cap get a skipped message, counted as "capped"). The birthday
    text says the real offer window ({birthday_offer}, from benefits' birthday rule via messaging.hooks)."""
    from members.models import Member

    from .frequency import CAP_ERROR
    from .hooks import birthday_offer_text
    from .models import Holiday, Message
    from .services import messages_send_bulk

    day: dt.date = ctx.date
    counts = {"birthday": 0, "holiday": 0, "capped": 0}
    active = Member.objects.filter(status=Member.Status.ACTIVE, marketing_consent=True,
                                   mobile_enc__isnull=False).order_by("pk")
    born = active.filter(birthday__month=day.month, birthday__day=day.day)
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        born = active.filter(birthday__month=2, birthday__day__in=[28, 29])
    offer = {"birthday_offer": birthday_offer_text(day)}
    def send(counter: str, template_code: str, recipients: list) -> None:
        # "birthday"/"holiday": new messages; "capped": those of them the frequency cap held back (skipped).
        ids = messages_send_bulk(template_code=template_code, channel="sms", recipients=recipients)
        counts[counter] += len(ids)
        counts["capped"] += Message.objects.filter(pk__in=ids, error=CAP_ERROR).count() if ids else 0

    for chunk in _chunks(born.iterator(chunk_size=2000), 2000):
        send("birthday", "birthday_greeting", [(m, f"birthday:{day.year}", offer) for m in chunk])
    holiday = Holiday.objects.filter(date=day, active=True).first()
    if holiday:
        for chunk in _chunks(active.iterator(chunk_size=2000), 2000):
            send("holiday", holiday.template_code,
                 [(m, f"holiday:{holiday.date.isoformat()}", {"holiday": holiday.name}) for m in chunk])
    return counts


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


from . import campaigns  # noqa: E402,F401 - registers start_due_campaigns and the campaign tasks
