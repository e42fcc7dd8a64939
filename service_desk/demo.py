"""Demo data for seed_demo: complaints in every state over the last 60 days, a few consultations and
FAQ articles. Complaints are made through the services (so logs and deadlines are real), then their
timestamps are moved back in time so the queue, the clocks and the compliance report have history."""
from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from members.models import Member

from . import services
from .models import Complaint, ComplaintCategory, ComplaintEvent, Consultation, FaqArticle, Severity

FAQ = [
    ("退货需要什么凭证？", "凭购物小票或电子订单号，在购买之日起7天内、商品完好的情况下可到服务台办理退货。", "products"),
    ("积分过期规则", "积分自获得之日起有效期24个月，到期未使用的积分将自动清零，过期前会短信提醒。", "points"),
    ("如何升级会员等级", "近12个月累计消费达到银卡、金卡、白金卡门槛即可升级，保级按年度评估。", "membership"),
    ("积分可以兑换什么", "积分可兑换礼品、优惠券，也可在收银台抵现，每100积分抵1元。", "points"),
    ("停车优惠", "金卡及以上会员每次消费可享受2小时免费停车，在服务台登记车牌即可。", "store"),
]
DESCRIPTIONS = ["商品有质量问题，穿了一次就开线", "收银员态度不好，多收了钱", "退货被拒绝，要求说明原因",
                "会员积分没有到账", "专柜导购服务态度差", "换货等待时间太长"]


def seed_complaints(member_ids: list[int], *, seed: int) -> dict:
    rng = random.Random(seed)
    for title, body, category in FAQ:
        if not FaqArticle.objects.filter(title=title).exists():
            services.faq_article_save(title=title, body=body, category=category, published=True)
    members = list(Member.objects.filter(pk__in=member_ids, status=Member.Status.ACTIVE)
                   .select_related("home_store", "tier").order_by("pk"))
    if not members:
        return {"complaints": 0, "consultations": 0, "faq": FaqArticle.objects.count()}
    staff = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    sample = rng.sample(members, min(len(members), 60))
    now = timezone.now()
    made = consulted = 0
    for member in sample:
        request_id = f"demo:{seed}:{member.pk}"
        if Complaint.objects.filter(request_id=request_id).exists():  # seeded by an earlier run
            continue
        with transaction.atomic():
            complaint = services.complaint_file(
                channel="portal", category=rng.choice(ComplaintCategory.values), store=member.home_store,
                severity=rng.choice([Severity.NORMAL] * 4 + [Severity.SERIOUS, Severity.URGENT]),
                member=member, description=rng.choice(DESCRIPTIONS), order_no=f"D{rng.randrange(10**8):08d}",
                request_id=request_id,
            )
            made += 1
            steps = rng.choice([0, 1, 2, 3, 3, 3, 4]) if staff else 0
            actions = ["accept", "start", "reply", "close"][:steps]
            for action in actions:
                services.complaint_transition(complaint=complaint, action=action, staff=staff,
                                              note="已联系顾客，问题已处理" if action == "reply" else "")
            # Closed cases spread over 60 days; open ones across the clock: some fresh, some near the
            # limit, some overdue (a queue of only overdue cases teaches nothing).
            hours = rng.randrange(2, 60 * 24) if "close" in actions else rng.choice([1, 2, 4, 8, 16, 20, 30, 50, 100])
            _backdate(complaint, now - dt.timedelta(hours=hours), rng)
            complaint.refresh_from_db()
            if complaint.status == "closed" and rng.random() < 0.6:
                services.complaint_rate(complaint_id=complaint.pk, member=member, score=rng.choice([3, 4, 4, 5, 5]))
        if rng.random() < 0.3:
            services.consultation_log(kind=rng.choice(Consultation.Kind.values), category="points", channel="portal",
                                      store=member.home_store, member=member, question="积分什么时候到账？")
            consulted += 1
    return {"complaints": made, "consultations": consulted, "faq": FaqArticle.objects.count()}


def _backdate(complaint: Complaint, received_at: dt.datetime, rng: random.Random) -> None:
    """Move a fresh complaint's clock back: deadlines keep their length, steps take 1-40 hours each."""
    shift = complaint.received_at - received_at
    at = received_at
    times = {}
    for field, action in (("accepted_at", "accept"), ("first_replied_at", "reply"), ("closed_at", "close")):
        if getattr(complaint, field):
            at = at + dt.timedelta(hours=rng.uniform(1, 40))
            times[field] = min(at, timezone.now())
            ComplaintEvent.objects.filter(complaint=complaint, action=action).update(at=times[field])
    ComplaintEvent.objects.filter(complaint=complaint, action__in=["intake", "start"]).update(at=received_at)
    Complaint.objects.filter(pk=complaint.pk).update(
        received_at=received_at, accept_due=complaint.accept_due - shift, reply_due=complaint.reply_due - shift,
        close_due=complaint.close_due - shift, **times)
