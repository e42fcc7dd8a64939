"""Campaign sends (MSG-2, MSG-4): a marketing or greeting template to an audience of members.

The audience is tags / tiers / stores / a saved filter (members.selectors.rule_queryset) or an
evaluation segment, always within the creator's store scope. Everything that touches members is
set-wise: the preview is one COUNT query, planning is INSERT ... SELECT of the Message rows (consent,
reachability and quiet hours in SQL, the text rendered by the same renderer message_send uses, the
opt-out line appended to SMS), ON CONFLICT DO NOTHING on the message log's once-per-event key
(event "campaign:<id>"), committed in member-id chunks with progress on the campaign row. Each
chunk's messages go to the `sms` queue after commit in batches of BATCH_SIZE ids; a send task
delivers through messaging.delivery (claim, rate limit, retries), so a re-run or duplicate task
sends nothing twice, and a cancelled campaign's queued messages are never claimed.

Status: draft -> scheduled -> planning -> sending -> done, or cancelled from any but done."""
from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.core import signing
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, Count, F, Max, Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.audit import audit_record
from core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from core.jobs import JobContext, register_job
from evaluation.models import Segment
from evaluation.selectors import audience_members
from members import scope
from members.models import Member, Store
from members.selectors import RULE_KEYS
from members.validation import normalize_mobile

from . import frequency
from .delivery import deliver_messages
from .locks import campaign_lock, campaign_lock_for_planning
from .models import Campaign, CampaignBatch, Message, MessageChannel, MessageKind, MessageTemplate, MessagingConfig
from .services import (
    CONSENT_KINDS,
    SYSTEM_PARAMS,
    _with_opt_out,
    message_preview,
    message_send_test,
    quiet_hours_release,
    system_params,
)
from .templating import placeholders, render

log = logging.getLogger(__name__)

BATCH_SIZE = 500            # recipients per send task
PLAN_CHUNK = 100_000        # member ids per planning statement (one commit, one progress step)
CAMPAIGN_KINDS = (MessageKind.MARKETING, MessageKind.GREETING)
CAMPAIGN_CHANNELS = (MessageChannel.SMS, MessageChannel.EMAIL)
AUDIENCE_KEYS = {"tags", "tiers", "stores"} | RULE_KEYS
MEMBER_FIELDS = {"name": "name", "member_no": "member_no"}   # placeholders filled per member, in SQL
EDITABLE = ("name", "template", "params", "audience", "segment_id", "scheduled_at")
SEND_NOW_TOKEN_MAX_AGE = 15 * 60    # seconds a "send now" confirmation stays valid
TEST_SEND_INTERVAL = 30             # seconds between two test SMS of one staff member
TEST_SEND_PER_DAY = 20              # test SMS a staff member may send a day


# ---------------------------------------------------------------- audience (reads)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def audience_queryset(*, audience: dict, segment_id: int | None = None,
                      store_ids: list[int] | None = None) -> QuerySet[Member]:
    """The active members the campaign addresses, before consent: a segment, or tags / tiers /
    stores (codes) plus saved-filter keys; restricted to `store_ids` (None: chain-wide). The rule itself
    is evaluation.selectors.audience_members (one for campaigns, events and surveys)."""
    if segment_id:
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            raise ValidationFailed(_("The segment no longer exists."), code="no_segment")
    else:
        unknown = set(audience) - AUDIENCE_KEYS
        if unknown:
            raise ValidationFailed(_("Unknown audience keys: %(keys)s.") % {"keys": ", ".join(sorted(unknown))},
                                   code="bad_audience")
        segment = {k: v for k, v in audience.items() if v not in (None, "", [])}
    try:
        return audience_members(segment=segment, store_ids=store_ids)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_audience") from None


def campaign_audience(campaign: Campaign) -> QuerySet[Member]:
    return audience_queryset(audience=campaign.audience or {}, segment_id=campaign.segment_id,
                             store_ids=campaign.scope_store_ids)


def _consent_q(kind: str) -> Q:
    """Marketing and greetings need marketing consent (MEM-6; greetings since issue 15)."""
    return Q(marketing_consent=True) if kind in CONSENT_KINDS else Q()


def _channel_on_q(channel: str) -> Q:
    """The member has not turned the channel off (messaging.models.ChannelPreference; no row: on)."""
    return ~Q(**{f"channel_preference__{channel}": False})


def _reachable_q(channel: str) -> Q:
    if channel == MessageChannel.SMS:
        return Q(mobile_enc__isnull=False) & ~Q(mobile_enc="")
    return ~Q(email="")


def _recipients(campaign: Campaign) -> QuerySet[Member]:
    """Who gets a message: the audience with consent (marketing, greetings), an address on the
    channel and the channel not turned off. The frequency cap is applied while planning (_insert_chunk)."""
    kind = campaign.template.kind
    return campaign_audience(campaign).filter(_consent_q(kind) & _reachable_q(campaign.channel)
                                              & _channel_on_q(campaign.channel))


def campaign_preview(*, campaign: Campaign, at: dt.datetime | None = None) -> dict:
    """Audience after consent and quiet hours, in one COUNT query: how many would get the message,
    and whether they go at once or wait for quiet hours to end (at `at`, default the scheduled
    time or now)."""
    kind = campaign.template.kind
    consent = _consent_q(kind)
    reachable = _reachable_q(campaign.channel)
    channel_on = _channel_on_q(campaign.channel)
    config = MessagingConfig.get()
    audience = campaign_audience(campaign)
    capped = Q(pk=None)
    if frequency.cap_applies(kind, config):
        sql, params = frequency.at_cap_sql(f"{Member._meta.db_table}.id", event_key=campaign.event_key,
                                           now=timezone.now(), config=config)
        audience = audience.alias(at_cap=RawSQL(sql, params, output_field=BooleanField()))
        capped = Q(at_cap=True)
    counts = audience.aggregate(
        audience=Count("pk"),
        no_consent=Count("pk", filter=~consent) if kind in CONSENT_KINDS else Count("pk", filter=Q(pk=None)),
        unreachable=Count("pk", filter=consent & ~reachable),
        channel_off=Count("pk", filter=consent & reachable & ~channel_on),
        capped=Count("pk", filter=consent & reachable & channel_on & capped),
        recipients=Count("pk", filter=consent & reachable & channel_on & ~capped),
    )
    at = at or (campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > timezone.now()
                else timezone.now())
    release = quiet_hours_release(now=at, config=config)
    waiting = counts["recipients"] if release else 0
    return {**counts, "now": counts["recipients"] - waiting, "waiting": waiting, "release_at": release, "at": at}


def campaign_list_for_staff(user) -> QuerySet[Campaign]:
    """Campaigns a staff member sees: chain-wide staff all; store staff those of their store scope."""
    qs = Campaign.objects.select_related("template", "created_by")
    ids = scope.store_ids(user)
    if ids is None:
        return qs
    return qs.filter(scope_store_ids__isnull=False, scope_store_ids__contained_by=ids) if ids else qs.none()


def campaign_get_for_staff(user, pk: int) -> Campaign:
    campaign = campaign_list_for_staff(user).filter(pk=pk).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


def campaign_progress(campaign: Campaign, *, failed_limit: int = 50) -> dict:
    """Counts of the campaign's messages by status and the latest failures with their errors."""
    by_status = dict(Message.objects.filter(campaign_id=campaign.pk).values_list("status")
                     .annotate(n=Count("pk")).values_list("status", "n"))
    failed = list(Message.objects.filter(campaign_id=campaign.pk, status=Message.Status.FAILED)
                  .select_related("member").order_by("-pk")[:failed_limit])
    return {"by_status": [(label, by_status.get(value, 0)) for value, label in Message.Status.choices],
            "counts": by_status, "failed": failed,
            "total": sum(by_status.values())}


def campaign_sample(campaign: Campaign) -> dict:
    """The message as one recipient would read it (issue 16, operations): rendered by
    messaging.services.message_preview (the renderer and opt-out rule message_send uses) for the
    first recipient of the audience, their name masked (the page and a test SMS show no personal
    data), with its length and SMS count (messaging.sms.sms_segments). No recipient: the
    placeholders stay as {name}."""
    member = _recipients(campaign).order_by("pk").only("pk", "name", "member_no").first()
    sample = {n: f"{{{n}}}" for n in MEMBER_FIELDS} if member is None else \
        {"name": crypto.mask_name(member.name), "member_no": member.member_no}
    preview = message_preview(template=campaign.template, member=None, params={**(campaign.params or {}), **sample})
    opt_out = ""
    if campaign.template.kind == MessageKind.MARKETING and campaign.channel == MessageChannel.SMS:
        opt_out = MessagingConfig.get().opt_out_line.strip()
    return {**preview, "member_values": sample, "has_sample": member is not None,
            "opt_out_line": opt_out, "is_sms": campaign.channel == MessageChannel.SMS}


class SendConfirmationNeeded(Conflict):
    """Send now was asked without a confirmation of the current recipient count (or with one
    for another count / an older version of the campaign): the page asks again."""

    code = "confirm_send"


def _send_now_payload(campaign: Campaign, recipients: int) -> list:
    return [campaign.pk, recipients, campaign.updated_at.isoformat() if campaign.updated_at else ""]


def campaign_send_confirmation(campaign: Campaign) -> dict:
    """What the operator confirms before 立即发送 (issue 16): the recipients (campaign_preview's
    count, which the planner also records), the SMS cost (recipients x segments of the sample
    message), and a signed token binding that count to this version of the campaign."""
    preview = campaign_preview(campaign=campaign)
    sample = campaign_sample(campaign)
    recipients = preview["recipients"]
    each = sample["sms"].segments if sample["is_sms"] else 0
    token = signing.dumps(_send_now_payload(campaign, recipients), salt="messaging.campaign_send_now")
    return {"recipients": recipients, "segments_each": each, "segments_total": recipients * each,
            "token": token, "preview": preview, "sample": sample}


def _token_matches(token: str, campaign: Campaign, recipients: int) -> bool:
    try:
        payload = signing.loads(token or "", salt="messaging.campaign_send_now", max_age=SEND_NOW_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return False
    return payload == _send_now_payload(campaign, recipients)


@transaction.atomic
def campaign_send_now(*, campaign: Campaign, user, token: str) -> Campaign:
    """立即发送 only with a confirmation of the current recipient count (issue 16: 255 SMS went out
    on one click). `token` comes from campaign_send_confirmation; when the audience or the
    campaign changed since, SendConfirmationNeeded asks again. Audited."""
    campaign = campaign_lock(campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise Conflict(_("Only a draft campaign can be scheduled."), code="not_draft")
    current = campaign_preview(campaign=campaign)["recipients"]
    if not token:
        raise SendConfirmationNeeded(_("Confirm the number of recipients before sending."))
    if not _token_matches(token, campaign, current):
        raise SendConfirmationNeeded(_("The audience or the campaign changed since you confirmed: it now goes to "
                                       "%(n)s members. Please confirm again.") % {"n": current},
                                     code="confirm_again")
    campaign = campaign_schedule(campaign=campaign, user=user, at=None)
    audit_record(actor=user, action="status", field="campaign_send_now",
                 detail=f"campaign {campaign.pk} {campaign.name}: sent now to {current} recipients")
    return campaign


def _test_send_throttle(user) -> None:
    if not cache.add(f"messaging:campaign-test:recent:{user.pk}", 1, timeout=TEST_SEND_INTERVAL):
        raise RateLimited(_("A test was just sent; please wait %(s)s seconds.") % {"s": TEST_SEND_INTERVAL},
                          code="too_soon")
    day_key = f"messaging:campaign-test:day:{user.pk}:{timezone.localdate():%Y%m%d}"
    cache.add(day_key, 0, timeout=24 * 3600)
    if cache.incr(day_key) > TEST_SEND_PER_DAY:
        raise RateLimited(_("You have sent %(n)s tests today; try again tomorrow.") % {"n": TEST_SEND_PER_DAY},
                          code="daily_limit")


@transaction.atomic
def campaign_send_test(*, campaign: Campaign, user, mobile: str) -> Message:
    """"Send a test to me" (issue 16): the sample message (campaign_sample, masked name) to the
    staff member's own mobile, through messaging.services.message_send_test (same queue and
    provider, no member, no campaign: never counted as a campaign send). Rate-limited per staff
    member and audited with the masked number."""
    if campaign.channel != MessageChannel.SMS:
        raise ValidationFailed(_("Only SMS campaigns can be tested on a phone."), code="bad_channel")
    try:
        mobile = normalize_mobile(mobile)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_mobile", fields={"mobile": [str(exc)]}) from None
    _test_send_throttle(user)
    sample = campaign_sample(campaign)
    params = {**(campaign.params or {}), **sample["member_values"]}
    message = message_send_test(template=campaign.template, mobile=mobile, text=sample["text"], params=params,
                                label=f"campaign:{campaign.pk}:user:{user.pk}")
    audit_record(actor=user, action="status", field="campaign_test_sms",
                 detail=f"campaign {campaign.pk}: test SMS to {crypto.mask_mobile(mobile)}")
    return message


# ---------------------------------------------------------------- create / edit (services)


def _validate(*, template: MessageTemplate, params: dict, audience: dict, segment_id: int | None,
              store_ids: list[int] | None) -> None:
    if template.kind not in CAMPAIGN_KINDS:
        raise ValidationFailed(_("A campaign sends a marketing or greeting template."), code="bad_template_kind")
    if template.channel not in CAMPAIGN_CHANNELS:
        raise ValidationFailed(_("Campaigns go by SMS or e-mail."), code="bad_channel")
    if not template.active:
        raise ValidationFailed(_("The message template %(code)s is switched off.") % {"code": template.code},
                               code="template_inactive")
    if not isinstance(params, dict) or not isinstance(audience, dict):
        raise ValidationFailed(_("Parameters and audience must be JSON objects."), code="bad_json")
    missing = sorted({n for n in placeholders(f"{template.subject} {template.body}")
                      if n not in MEMBER_FIELDS and n not in SYSTEM_PARAMS and n not in params})
    if missing:
        raise ValidationFailed(_("Give a value for the template's placeholders: %(names)s.")
                               % {"names": ", ".join(missing)}, code="template_param_missing",
                               fields={"params": [", ".join(missing)]})
    if not segment_id and not audience:
        raise ValidationFailed(_("Choose an audience: tags, tiers, stores, a saved filter or a segment."),
                               code="no_audience")
    if store_ids is not None and audience.get("stores"):
        allowed = set(Store.objects.filter(pk__in=store_ids).values_list("code", flat=True))
        outside = sorted(set(_as_list(audience["stores"])) - allowed)
        if outside:
            raise ValidationFailed(_("You can only address members of your own store (not %(codes)s).")
                                   % {"codes": ", ".join(outside)}, code="other_store")
    try:
        audience_queryset(audience=audience, segment_id=segment_id, store_ids=store_ids).query  # noqa: B018
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_audience") from None


def _creator_scope(user) -> list[int] | None:
    ids = scope.store_ids(user)
    if ids == []:
        raise ValidationFailed(_("Your account has no store; ask an administrator."), code="no_store")
    return ids


@transaction.atomic
def campaign_create(*, user, name: str, template: MessageTemplate, audience: dict | None = None,
                    segment_id: int | None = None, params: dict | None = None,
                    scheduled_at: dt.datetime | None = None) -> Campaign:
    """A draft campaign. Staff who are not chain-wide address only members of their store(s)."""
    store_ids = _creator_scope(user)
    audience, params = audience or {}, params or {}
    _validate(template=template, params=params, audience=audience, segment_id=segment_id, store_ids=store_ids)
    return Campaign.objects.create(name=name, template=template, channel=template.channel, params=params,
                                   audience=audience, segment_id=segment_id, scope_store_ids=store_ids,
                                   scheduled_at=scheduled_at, created_by=user)


@transaction.atomic
def campaign_update(*, campaign: Campaign, user, **changes) -> Campaign:
    """Edit a draft (or a scheduled campaign not yet started, which goes back to draft)."""
    campaign = campaign_lock(campaign.pk)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise Conflict(_("Only a draft campaign can be edited."), code="not_draft")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    for key, value in changes.items():
        setattr(campaign, key, value)
    _validate(template=campaign.template, params=campaign.params or {}, audience=campaign.audience or {},
              segment_id=campaign.segment_id, store_ids=campaign.scope_store_ids)
    campaign.channel = campaign.template.channel
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    return campaign


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, user, at: dt.datetime | None = None) -> Campaign:
    """Schedule (at a time) or send now (at None or in the past): planning runs as a task."""
    campaign = campaign_lock(campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise Conflict(_("Only a draft campaign can be scheduled."), code="not_draft")
    _validate(template=campaign.template, params=campaign.params or {}, audience=campaign.audience or {},
              segment_id=campaign.segment_id, store_ids=campaign.scope_store_ids)
    now = timezone.now()
    campaign.scheduled_at = at if at and at > now else now
    campaign.status = Campaign.Status.SCHEDULED
    campaign.save(update_fields=["scheduled_at", "status", "updated_at"])
    pk, eta = campaign.pk, campaign.scheduled_at
    if eta <= now:
        transaction.on_commit(lambda: campaign_plan_task.delay(pk))
    else:
        # The ETA task is the fast path; the start_due_campaigns job catches one the broker lost.
        transaction.on_commit(lambda: campaign_plan_task.apply_async((pk,), eta=eta))
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, user) -> Campaign:
    """Stop a campaign: its queued messages become cancelled, so no send task claims them any
    more; messages already handed to the provider stay as they are."""
    campaign = campaign_lock(campaign.pk)
    if campaign.status in (Campaign.Status.DONE, Campaign.Status.CANCELLED):
        raise Conflict(_("This campaign has already finished."), code="finished")
    now = timezone.now()
    cancelled = Message.objects.filter(campaign_id=campaign.pk, status=Message.Status.QUEUED).update(
        status=Message.Status.CANCELLED, next_attempt_at=None, error="Campaign cancelled.")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED, cancelled_at=now,
                                                   cancelled_by=user, updated_at=now)
    log.info("campaign %s cancelled by %s: %s queued messages cancelled", campaign.pk, user, cancelled)
    campaign.refresh_from_db()
    transaction.on_commit(lambda: campaign_refresh(campaign_id=campaign.pk))
    return campaign


def campaign_refresh(*, campaign_id: int) -> Campaign:
    """Recount the campaign's messages (one aggregate); a sending campaign with nothing left queued
    or sending is done."""
    counts = dict(Message.objects.filter(campaign_id=campaign_id).values_list("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
    S = Message.Status
    capped = Message.objects.filter(campaign_id=campaign_id, status=S.SKIPPED, error=frequency.CAP_ERROR).count()
    fields = {"sent": counts.get(S.SENT, 0) + counts.get(S.DELIVERED, 0), "failed": counts.get(S.FAILED, 0),
              "cancelled_count": counts.get(S.CANCELLED, 0) + counts.get(S.SKIPPED, 0) - capped,
              "skipped_frequency_cap": capped, "updated_at": timezone.now()}
    open_ = counts.get(S.QUEUED, 0) + counts.get(S.SENDING, 0)
    Campaign.objects.filter(pk=campaign_id).update(**fields)
    if not open_:
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
            status=Campaign.Status.DONE, finished_at=timezone.now())
    return Campaign.objects.get(pk=campaign_id)


# ---------------------------------------------------------------- planning (set-wise)


_INSERT_COLUMNS = ("member_id", "mobile_hash", "mobile_enc", "channel", "kind", "template_id", "event_key",
                   "subject", "text", "params", "campaign_id", "status", "provider", "provider_id", "error",
                   "attempts", "next_attempt_at", "scheduled_for", "created_at", "claimed_at", "sent_at",
                   "delivered_at")
_TOKEN = "\x1f{}\x1f"   # stands for a per-member value while the template is rendered once


def _member_text_sql(text: str) -> tuple[str, list]:
    """SQL for `text` with the per-member tokens replaced by member columns."""
    sql, params = "%s", [text]
    for name, column in MEMBER_FIELDS.items():
        token = _TOKEN.format(name)
        if token in text:
            sql, params = f"replace({sql}, %s, m.{column})", [*params, token]
    return sql, params


def _rendered(campaign: Campaign, config: MessagingConfig) -> tuple[str, str]:
    """Subject and text rendered once with the campaign's values (message_send's renderer and
    opt-out rule), member placeholders left as tokens for SQL."""
    template = campaign.template
    values = {**system_params(template, day=timezone.localdate()), **(campaign.params or {}),
              **{n: _TOKEN.format(n) for n in MEMBER_FIELDS}}
    subject, text = render(template.subject, values), render(template.body, values)
    if template.kind == MessageKind.MARKETING and campaign.channel == MessageChannel.SMS:
        text = _with_opt_out(text, config)
    return subject, text


def _params_sql(campaign: Campaign) -> tuple[str, list]:
    names = campaign.template.provider_param_names or []
    if not names:
        return "'{}'::jsonb", []
    parts, params = [], []
    for n in names:
        if n in MEMBER_FIELDS:
            parts.append(f"%s::text, m.{MEMBER_FIELDS[n]}")
            params.append(n)
        else:
            parts.append("%s::text, %s::text")
            values = {**system_params(campaign.template, day=timezone.localdate()), **(campaign.params or {})}
            params.extend([n, str(values.get(n, ""))])
    return f"jsonb_build_object({', '.join(parts)})", params


def _insert_chunk(campaign: Campaign, recipients: QuerySet[Member], *, lo: int, hi: int, subject: str, text: str,
                  now: dt.datetime, release: dt.datetime | None, config: MessagingConfig) -> tuple[list[int], int]:
    """INSERT ... SELECT the messages of members lo <= id < hi; returns (ids of new queued rows, how many
    new rows the frequency cap skipped). A member at the cap gets a skipped message (the per-member
    result), decided under the cap lock so concurrent planners cannot both use the last slot."""
    audience_sql, audience_params = recipients.filter(pk__gte=lo, pk__lt=hi).values("pk").query.sql_with_params()
    subject_sql, subject_params = _member_text_sql(subject[:200])
    text_sql, text_params = _member_text_sql(text)
    params_sql, params_params = _params_sql(campaign)
    if frequency.cap_applies(campaign.template.kind, config):
        frequency.cap_lock()
        cap_sql, cap_params = frequency.at_cap_sql("m.id", event_key=campaign.event_key, now=now, config=config)
    else:
        cap_sql, cap_params = "false", []
    sql = (
        f"WITH c AS (SELECT m.id, m.name, m.member_no, {cap_sql} AS at_cap "
        f"FROM {Member._meta.db_table} m WHERE m.id IN ({audience_sql})) "
        f"INSERT INTO {Message._meta.db_table} ({', '.join(_INSERT_COLUMNS)}) "
        f"SELECT m.id, '', '', %s, %s, %s, %s, left({subject_sql}, 200), {text_sql}, {params_sql}, %s, "
        "CASE WHEN m.at_cap THEN 'skipped' ELSE 'queued' END, '', '', CASE WHEN m.at_cap THEN %s ELSE '' END, 0, "
        "CASE WHEN m.at_cap THEN NULL ELSE %s::timestamptz END, CASE WHEN m.at_cap THEN NULL ELSE %s::timestamptz END, "
        "%s, NULL, NULL, NULL "
        "FROM c m ON CONFLICT DO NOTHING RETURNING id, status"
    )
    params = [*cap_params, *audience_params, campaign.channel, campaign.template.kind, campaign.template_id,
              campaign.event_key, *subject_params, *text_params, *params_params, campaign.pk, frequency.CAP_ERROR,
              release or now, release, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    queued = sorted(pk for pk, status in rows if status == Message.Status.QUEUED)
    return queued, len(rows) - len(queued)


def _batches(campaign: Campaign, ids: list[int], first_number: int) -> list[tuple[CampaignBatch, list[int]]]:
    made = []
    for i in range(0, len(ids), BATCH_SIZE):
        chunk = ids[i:i + BATCH_SIZE]
        made.append((CampaignBatch(campaign=campaign, number=first_number + len(made), first_id=chunk[0],
                                   last_id=chunk[-1], size=len(chunk)), chunk))
    CampaignBatch.objects.bulk_create([b for b, _ids in made])
    return made


def _enqueue(batches: list[tuple[int, list[int]]]) -> None:
    for batch_id, ids in batches:
        campaign_send_batch_task.delay(batch_id, ids)


def _claim_for_planning(campaign_id: int) -> Campaign | None:
    with transaction.atomic():
        campaign = campaign_lock_for_planning(campaign_id)
        if campaign is None or campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.PLANNING):
            return None  # cancelled, already planned, or a duplicate of a finished run
        if campaign.status == Campaign.Status.SCHEDULED and campaign.scheduled_at and \
                campaign.scheduled_at > timezone.now() + dt.timedelta(seconds=5):
            return None  # an early duplicate; the ETA task or the job starts it on time
        campaign.status = Campaign.Status.PLANNING
        campaign.save(update_fields=["status", "updated_at"])
        return campaign


def campaign_plan(*, campaign_id: int, chunk: int = PLAN_CHUNK) -> Campaign | None:
    """Write the campaign's messages and queue their sending. Idempotent: a re-run (or a run after
    a crash half-way) inserts only what is missing and re-queues batches not yet done."""
    campaign = _claim_for_planning(campaign_id)
    if campaign is None:
        return None
    config = MessagingConfig.get()
    now = timezone.now()
    release = quiet_hours_release(now=now, config=config)   # campaigns are marketing / greetings: they wait
    subject, text = _rendered(campaign, config)
    preview = campaign_preview(campaign=campaign, at=now)
    recipients = _recipients(campaign)
    bounds = Member.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    lo, hi = bounds["lo"] or 0, (bounds["hi"] or -1) + 1
    Campaign.objects.filter(pk=campaign.pk).update(
        audience_count=preview["audience"], skipped_no_consent=preview["no_consent"],
        skipped_unreachable=preview["unreachable"], skipped_channel_off=preview["channel_off"],
        plan_total=max(hi - lo, 0), plan_done=0, planned_at=now)
    # A re-run: batches written by an earlier run but never finished go to the queue again.
    pending = [(b.pk, list(Message.objects.filter(campaign_id=campaign.pk, pk__gte=b.first_id, pk__lte=b.last_id)
                           .values_list("pk", flat=True)))
               for b in CampaignBatch.objects.filter(campaign=campaign, done_at__isnull=True).order_by("number")]
    if pending and release is None:
        _enqueue(pending)
    number = CampaignBatch.objects.filter(campaign=campaign).count()
    for start in range(lo, hi, chunk):
        if Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.CANCELLED).exists():
            return Campaign.objects.get(pk=campaign.pk)
        with transaction.atomic():
            ids, capped = _insert_chunk(campaign, recipients, lo=start, hi=min(start + chunk, hi), subject=subject,
                                        text=text, now=now, release=release, config=config)
            made = _batches(campaign, ids, number) if ids else []
            number += len(made)
            Campaign.objects.filter(pk=campaign.pk).update(
                planned=F("planned") + len(ids), batches_total=F("batches_total") + len(made),
                skipped_frequency_cap=F("skipped_frequency_cap") + capped, plan_done=min(start + chunk, hi) - lo)
            if made and release is None:
                # Held by quiet hours: retry_due_messages releases them when the window opens.
                work = [(b.pk, batch_ids) for b, batch_ids in made]
                transaction.on_commit(lambda work=work: _enqueue(work))
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.PLANNING).update(
        status=Campaign.Status.SENDING, updated_at=timezone.now())
    campaign = Campaign.objects.get(pk=campaign.pk)
    if campaign.batches_done >= campaign.batches_total and release is None:
        campaign = campaign_refresh(campaign_id=campaign.pk)
    return campaign


# ---------------------------------------------------------------- sending


def campaign_send_batch(*, batch_id: int, message_ids: list[int]) -> dict:
    """Deliver one batch through messaging.delivery. Cancelled campaigns send nothing; messages
    someone else already claimed are not claimed again. Returns the delivery result."""
    row = CampaignBatch.objects.filter(pk=batch_id).values("campaign_id", "done_at", "campaign__status").first()
    if row is None or row["done_at"] is not None:
        return {"skipped": "done"}
    if row["campaign__status"] == Campaign.Status.CANCELLED:
        return {"skipped": "cancelled"}
    result = deliver_messages(message_ids)
    if result.deferred:
        return {**result.as_dict(), "defer_seconds": result.defer_seconds, "deferred_ids": result.deferred}
    now = timezone.now()
    if CampaignBatch.objects.filter(pk=batch_id, done_at__isnull=True).update(done_at=now, result=result.as_dict()):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Campaign._meta.db_table} SET batches_done = batches_done + 1 WHERE id = %s "
                "RETURNING batches_done, batches_total, status", [row["campaign_id"]])
            done, total, status = cursor.fetchone()
        if done >= total and status == Campaign.Status.SENDING:
            campaign_refresh(campaign_id=row["campaign_id"])
    return result.as_dict()


# Named messaging.tasks.* so CELERY_TASK_ROUTES puts them on the "sms" queue.
@shared_task(name="messaging.tasks.campaign_plan", acks_late=True, ignore_result=True)
def campaign_plan_task(campaign_id: int) -> dict:
    campaign = campaign_plan(campaign_id=campaign_id)
    return {"campaign": campaign_id, "planned": campaign.planned if campaign else None}


@shared_task(name="messaging.tasks.campaign_send_batch", acks_late=True, ignore_result=True)
def campaign_send_batch_task(batch_id: int, message_ids: list[int]) -> dict:
    """Safe to run twice or concurrently: delivery claims each message once."""
    result = campaign_send_batch(batch_id=batch_id, message_ids=message_ids)
    deferred = result.pop("deferred_ids", None)
    if deferred:
        campaign_send_batch_task.apply_async((batch_id, message_ids), countdown=result["defer_seconds"])
    return result


@register_job("start_due_campaigns", label=gettext_lazy("Start due campaigns"))
def start_due_campaigns(ctx: JobContext) -> dict:
    """Plan scheduled campaigns whose time has come (the ETA task may have been lost), and finish
    sending campaigns whose last messages went out through retries or quiet-hours releases."""
    now = timezone.now()
    due = list(Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now)
               .values_list("pk", flat=True))
    for pk in due:
        transaction.on_commit(lambda pk=pk: campaign_plan_task.delay(pk))
    stale = list(Campaign.objects.filter(status=Campaign.Status.SENDING, updated_at__lte=now - dt.timedelta(minutes=5))
                 .values_list("pk", flat=True))
    for pk in stale:
        campaign_refresh(campaign_id=pk)
    return {"started": len(due), "refreshed": len(stale)}

