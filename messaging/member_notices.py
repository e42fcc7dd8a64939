"""Service notices about the membership itself (seed 000 信息通知: 申办、重要信息变更提醒; MSG-5), fed by
the members.events hook registered in MessagingConfig.ready(): welcome on joining, suspension /
disqualification / reinstatement, the decision on a change request, and the closure of the account
(to the number the member had before it was anonymised)."""
from __future__ import annotations

from django.utils import timezone

from members.models import ChangeRequest, Member

from .notices import notice_send

STATUS_KINDS = {"suspend": "member_suspended", "disqualify": "member_disqualified",
                "reinstate": "member_reinstated"}
FIELD_LABELS = {"name": "姓名", "gender": "性别", "birthday": "生日", "mobile": "手机号", "id_number": "证件号",
                "province": "省份", "city": "城市", "district": "区县", "address": "地址", "occupation": "职业",
                "email": "电子邮箱"}


def _fields(request: ChangeRequest) -> str:
    """Which fields the request changes, as words (the values stay out of the message)."""
    names = [part.split(":", 1)[0].strip() for part in (request.summary or "").split(";") if part.strip()]
    return "、".join(FIELD_LABELS.get(n, n) for n in names) or "会员资料"


def on_member_event(*, event: str, member_id: int, **data) -> None:
    member = Member.objects.select_related("tier").filter(pk=member_id).first()
    if member is None:
        return
    if event == "joined":
        notice_send(member=member, kind="welcome", ref=str(member.pk), params={"tier": member.tier.name})
    elif event == "status_changed" and data.get("action") in STATUS_KINDS:
        notice_send(member=member, kind=STATUS_KINDS[data["action"]], ref=str(data["ref"]),
                    params={"reason": data.get("reason") or "—"})
    elif event == "change_request_reviewed":
        request = ChangeRequest.objects.filter(pk=data["request_id"]).first()
        if request is None:
            return
        approved = request.status == ChangeRequest.Status.APPROVED
        notice_send(member=member, kind="change_approved" if approved else "change_rejected", ref=str(request.pk),
                    params={"fields": _fields(request), "reason": request.reason or "—"})
    elif event == "closed":
        notice_send(member=member, kind="account_closed", ref=str(member.pk),
                    params={"member_no": member.member_no,
                            "date": timezone.localtime(member.closed_at or timezone.now()).strftime("%Y-%m-%d")},
                    closure_mobile_enc=data.get("mobile_enc") or "")
