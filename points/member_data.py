"""Points' sections of the member's data download (SEC-4; PIPL art. 45), registered in core.member_data by
PointsConfig.ready(): purchases, the points ledger, coupons, gift orders and cash offsets."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.member_data import MemberDataSection, member_data_register

from .models import Coupon, Entry, GiftOrder, Offset, Purchase


def _purchases(member) -> list[dict]:
    return [
        {"occurred_at": p.occurred_at, "store": p.store.name, "order_no": p.order_no, "amount_total": p.amount_total,
         "amount_paid": p.amount_paid, "amount_refunded": p.amount_refunded, "points_earned": p.points_earned,
         "lines": p.lines}
        for p in Purchase.objects.filter(member=member).select_related("store").order_by("occurred_at", "id")
    ]


def _ledger(member) -> list[dict]:
    return [
        {"created_at": e.created_at, "kind": e.get_kind_display(), "points": e.points, "balance_after": e.balance_after,
         "reason": e.reason}
        for e in Entry.objects.filter(member=member).order_by("created_at", "id")
    ]


def _coupons(member) -> list[dict]:
    return [
        {"issued_at": c.issued_at, "type": c.type.name, "code": c.code, "status": c.get_status_display(),
         "valid_to": c.valid_to, "used_at": c.used_at}
        for c in Coupon.objects.filter(member=member).select_related("type").order_by("issued_at", "id")
    ]


def _gift_orders(member) -> list[dict]:
    return [
        {"created_at": g.created_at, "gift": g.gift.name, "quantity": g.quantity, "points": g.points,
         "status": g.get_status_display(), "collected_at": g.collected_at}
        for g in GiftOrder.objects.filter(member=member).select_related("gift").order_by("created_at", "id")
    ]


def _offsets(member) -> list[dict]:
    return [
        {"created_at": o.created_at, "order_no": o.order_no, "points": o.points, "amount": o.amount,
         "status": o.get_status_display()}
        for o in Offset.objects.filter(member=member).order_by("created_at", "id")
    ]


def register() -> None:
    time = _("Time")
    member_data_register(MemberDataSection(
        key="purchases", title=_("Purchases"), order=20, rows=_purchases,
        columns=(("occurred_at", time), ("store", _("Store")), ("order_no", _("Order number")),
                 ("amount_total", _("Amount")), ("amount_paid", _("Amount paid")),
                 ("amount_refunded", _("Refunded")), ("points_earned", _("Points earned")), ("lines", _("Items")))))
    member_data_register(MemberDataSection(
        key="points_ledger", title=_("Points ledger"), order=21, rows=_ledger,
        columns=(("created_at", time), ("kind", _("Kind")), ("points", _("Points")),
                 ("balance_after", _("Balance after")), ("reason", _("Reason")))))
    member_data_register(MemberDataSection(
        key="coupons", title=_("Coupons"), order=22, rows=_coupons,
        columns=(("issued_at", _("Issued at")), ("type", _("Coupon")), ("code", pgettext_lazy("coupon", "Code")), ("status", _("Status")),
                 ("valid_to", _("Valid until")), ("used_at", _("Used at")))))
    member_data_register(MemberDataSection(
        key="gift_orders", title=_("Gift orders"), order=23, rows=_gift_orders,
        columns=(("created_at", time), ("gift", _("Gift")), ("quantity", _("Quantity")), ("points", _("Points")),
                 ("status", _("Status")), ("collected_at", _("Collected at")))))
    member_data_register(MemberDataSection(
        key="offsets", title=_("Points offsets"), order=24, rows=_offsets,
        columns=(("created_at", time), ("order_no", _("Order number")), ("points", _("Points")),
                 ("amount", _("Amount")), ("status", _("Status")))))
