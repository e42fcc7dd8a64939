"""What operations would have set up before the first member walks in, so every persona's first-run task
works on a fresh `python3 dev.py run` (issue 16, "Demo data serves every first-run task"): gifts and
coupon types to redeem, a lottery with prizes, bookable resources with slots over the next two weeks, an
upcoming member event, a partner with offers, and a top tier that needs manual confirmation with pending
proposals. Idempotent: a second run finds what the first made (by name) and adds nothing.

Gift pictures are drawn here with Pillow at seed time (a coloured tile with the gift's first character),
so no binary file is committed; they land in MEDIA_ROOT like an upload through the admin."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from django.core.files.base import ContentFile
from django.utils import timezone

from amenities.models import Resource
from amenities.slot_patterns import slots_generate
from engagement.models import Event, Partner, PartnerOffer
from members.models import Brand, Member, ProductCategory, Store, Tier
from points.models import CouponType, Gift, Lottery, Prize
from tiers.models import ChangeKind, TierProposal

GIFT_COLOURS = ["#9b1c2e", "#1f6f8b", "#6a4c93", "#2d6a4f", "#b5651d"]
GIFT_IMAGE_PX = 480
CJK_FONTS = [Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
             Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")]
GIFTS = [  # name, description, points, stock, per-member limit
    ("保温杯", "304不锈钢真空保温杯 500ml", 1500, 200, 2),
    ("帆布购物袋", "门店限定环保帆布袋", 600, 500, 3),
    ("香薰蜡烛礼盒", "三支装香薰蜡烛", 3200, 80, 1),
    ("电影票两张", "合作影院通兑券", 4000, 100, 1),
    ("蓝牙耳机", "真无线蓝牙耳机", 18000, 20, 1),
]
COUPONS = [  # name, face value, minimum spend, validity days, points cost
    ("满200减20元券", "20.00", "200.00", 30, 1800),
    ("满500减60元券", "60.00", "500.00", 30, 5000),
    ("生日专享50元券", "50.00", "300.00", 15, 0),
]
RESOURCES = [  # kind, name
    ("personal_shopper", "私人购物顾问"),
    ("vip_lounge", "贵宾休息室"),
    ("alteration", "服装修改"),
]
SLOT_HOURS = (10, 14, 16)
# The brands and categories of points.demo's purchases: what the desk's purchase lines choose from.
BRANDS = [("LANCOME", "兰蔻"), ("ESTEE", "雅诗兰黛"), ("CHOW TAI FOOK", "周大福"), ("NIKE", "耐克"),
          ("ADIDAS", "阿迪达斯"), ("ZARA", "ZARA"), ("MUJI", "无印良品"), ("APPLE", "苹果")]
CATEGORIES = ["服装", "化妆品", "珠宝", "鞋包", "家居", "食品", "运动", "儿童"]


def gift_picture(name: str, colour: str, size: int = GIFT_IMAGE_PX) -> bytes:
    """A square PNG for a demo gift: its colour, a lighter disc and the name's first character (in Noto CJK
    when the machine has it, else the disc alone)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    margin = size // 6
    draw.ellipse((margin, margin, size - margin, size - margin), fill=(255, 255, 255))
    font_path = next((p for p in CJK_FONTS if p.exists()), None)
    if font_path:
        font = ImageFont.truetype(str(font_path), size // 3)
        draw.text((size / 2, size / 2), name[:1], fill=colour, font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _tiers_from(rank: int) -> list[Tier]:
    return list(Tier.objects.filter(rank__gte=rank).order_by("rank"))


def seed_catalogue(stores: list[Store]) -> dict:
    now = timezone.now()
    today = timezone.localdate()
    for code, name in BRANDS:
        Brand.objects.get_or_create(code=code, defaults={"name": name})
    for code in CATEGORIES:
        ProductCategory.objects.get_or_create(code=code, defaults={"name": code})
    made = {"gifts": 0, "gift_images": 0, "coupon_types": 0, "prizes": 0, "slots": 0, "events": 0, "offers": 0, "proposals": 0}
    ranks = sorted(Tier.objects.values_list("rank", flat=True))
    for index, (name, description, cost, stock, limit) in enumerate(GIFTS):
        gift, created = Gift.objects.get_or_create(name=name, defaults={
            "description": description, "points_cost": cost, "stock": stock, "per_member_limit": limit,
            "valid_from": now - dt.timedelta(days=30), "valid_to": now + dt.timedelta(days=365)})
        made["gifts"] += created
        if not gift.image:
            picture = gift_picture(name, GIFT_COLOURS[index % len(GIFT_COLOURS)])
            gift.image.save("gift.png", ContentFile(picture), save=False)
            gift.save(update_fields=["image"])
            made["gift_images"] += 1
    coupon_types = {}
    for name, face, minimum, days, cost in COUPONS:
        coupon_types[name], created = CouponType.objects.get_or_create(name=name, defaults={
            "face_value": Decimal(face), "min_spend": Decimal(minimum), "validity_days": days, "points_cost": cost})
        made["coupon_types"] += created
    lottery, created = Lottery.objects.get_or_create(name="年终积分抽奖", defaults={
        "points_cost": 200, "starts_at": now - dt.timedelta(days=7), "ends_at": now + dt.timedelta(days=60)})
    if created:
        gift = Gift.objects.get(name="保温杯")
        for name, kind, weight, extra in [
            ("500积分", "points", 30, {"points": 500}), ("满200减20元券", "coupon", 20,
                                                         {"coupon_type": coupon_types["满200减20元券"]}),
            ("保温杯", "gift", 5, {"gift": gift, "pickup_store": stores[0], "stock": 50}),
            ("谢谢参与", "nothing", 45, {}),
        ]:
            Prize.objects.create(lottery=lottery, name=name, kind=kind, weight=weight, **extra)
            made["prizes"] += 1
    upper = _tiers_from(ranks[1] if len(ranks) > 1 else ranks[0])
    first_day = today + dt.timedelta(days=1)
    for store in stores[:2]:
        for kind, name in RESOURCES:
            resource, created = Resource.objects.get_or_create(store=store, kind=kind, name=name)
            if not created:
                continue
            resource.eligible_tiers.set(upper)
            # The admin's weekly pattern (amenities.slot_patterns): two weeks, closed for bookings on Mondays.
            made["slots"] += slots_generate(
                resources=[resource], date_from=first_day, date_to=first_day + dt.timedelta(days=13),
                weekdays={1, 2, 3, 4, 5, 6}, times=[dt.time(h) for h in SLOT_HOURS], duration_minutes=60,
                capacity=2 if kind == "vip_lounge" else 1).created
    start = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=10), dt.time(19)))
    event, created = Event.objects.get_or_create(title="冬季新品鉴赏会", defaults={
        "description": "新品抢先看、搭配讲座与茶歇，欢迎携伴参加。", "store": stores[0], "starts_at": start,
        "ends_at": start + dt.timedelta(hours=2), "capacity": 40, "guest_allowance": 1})
    if created:
        event.audience_tiers.set(upper)
        made["events"] += 1
    partner, _ = Partner.objects.get_or_create(name="星河影城", defaults={"kind": "cinema"})
    for title, description in [("会员观影8折", "凭会员电子卡购票享8折"), ("爆米花套餐买一送一", "每位会员每月一次")]:
        offer, created = PartnerOffer.objects.get_or_create(partner=partner, title=title, defaults={
            "description": description, "valid_from": now - dt.timedelta(days=7),
            "valid_until": now + dt.timedelta(days=90), "per_member_limit": 1})
        if created:
            offer.tiers.set(Tier.objects.all())
            made["offers"] += 1
    made["proposals"] = _manual_tier_with_proposals(today)
    return made


def _manual_tier_with_proposals(today: dt.date) -> int:
    """TIER-4: the top tier needs a person's confirmation; three members of the tier below wait for it."""
    top = Tier.objects.order_by("-rank").first()
    below = Tier.objects.filter(rank__lt=top.rank).order_by("-rank").first() if top else None
    if not below:
        return 0
    if top.confirmation != Tier.Confirmation.MANUAL:
        top.confirmation = Tier.Confirmation.MANUAL
        top.save(update_fields=["confirmation"])
    if TierProposal.objects.filter(status=TierProposal.Status.PENDING).exists():
        return 0
    candidates = list(Member.objects.filter(tier=below, status=Member.Status.ACTIVE).order_by("pk")[:3])
    amount = (top.upgrade_amount or Decimal("100000.00")) + Decimal("1288.00")
    TierProposal.objects.bulk_create([
        TierProposal(member=m, from_tier=below, to_tier=top, kind=ChangeKind.UPGRADE, rolling_amount=amount,
                     rolling_visits=24, created_on=today - dt.timedelta(days=1), effective_on=today,
                     reason="夜间评估：达到升级门槛，待人工确认")
        for m in candidates
    ])
    return len(candidates)

