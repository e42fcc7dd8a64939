"""Default catalogue for the four tiers (BEN-1) and the member day / birthday settings row (BEN-3).
Neutral member-day and birthday extras (0 %, ×1): operations switch them on in the admin."""
from django.db import migrations

# code, name, kind, description, {tier code: (value shown, numeric value)}, brands, categories
CATALOGUE = [
    ("discount", "指定品牌折扣", "discount", "指定品牌/品类商品享会员折扣。",
     {"normal": ("—", None), "silver": ("95折", 5), "gold": ("9折", 10), "platinum": ("88折", 12)},
     [], ["服装", "鞋履", "化妆品"]),
    ("points_rate", "积分倍率", "points_rate", "每消费1元累积的积分。",
     {"normal": ("1分/元", 1), "silver": ("1.2分/元", 1.2), "gold": ("1.5分/元", 1.5), "platinum": ("2分/元", 2)},
     [], []),
    ("birthday", "生日礼遇", "birthday", "生日当天（或当周/当月）额外折扣及积分礼遇。",
     {"normal": ("生日积分礼", None), "silver": ("生日积分礼", None), "gold": ("生日礼品+额外折扣", None),
      "platinum": ("生日礼品+额外折扣", None)}, [], []),
    ("member_day", "会员日", "member_day", "每月会员日专享折扣与积分倍数。",
     {"normal": ("享受", None), "silver": ("享受", None), "gold": ("享受", None), "platinum": ("享受", None)}, [], []),
    ("parking", "免费停车", "parking", "当日消费后免费停车时长。",
     {"normal": ("1小时", 1), "silver": ("2小时", 2), "gold": ("3小时", 3), "platinum": ("全天", 24)}, [], []),
    ("gift_wrapping", "礼品包装", "gift_wrapping", "免费礼品包装。",
     {"normal": ("—", 0), "silver": ("每月2次", 2), "gold": ("每月5次", 5), "platinum": ("不限", None)}, [], []),
    ("loan", "充电宝/雨伞借用", "loan", "免押金借用充电宝、雨伞。",
     {"normal": ("—", None), "silver": ("免押金", None), "gold": ("免押金", None), "platinum": ("免押金", None)},
     [], []),
    ("priority", "热门商品优先购", "priority", "限量及热门商品优先购买。",
     {"normal": ("—", None), "silver": ("—", None), "gold": ("享受", None), "platinum": ("享受", None)}, [], []),
    ("personal_shopper", "私人购物顾问", "personal_shopper", "预约私人购物顾问陪同选购。",
     {"normal": ("—", None), "silver": ("—", None), "gold": ("预约", None), "platinum": ("专属顾问", None)},
     [], []),
    ("vip_lounge", "贵宾休息室", "vip_lounge", "贵宾休息室使用。",
     {"normal": ("—", None), "silver": ("—", None), "gold": ("每月2次", 2), "platinum": ("不限", None)}, [], []),
    ("delivery", "送货上门", "delivery", "大件或满额商品免费送货。",
     {"normal": ("满2000元", None), "silver": ("满1000元", None), "gold": ("免费", None), "platinum": ("免费", None)},
     [], []),
    ("express_after_sales", "快速售后", "express_after_sales", "售后绿色通道。",
     {"normal": ("—", None), "silver": ("—", None), "gold": ("绿色通道", None), "platinum": ("专人处理", None)},
     [], []),
]


def seed(apps, schema_editor):
    Tier = apps.get_model("members", "Tier")
    Benefit = apps.get_model("benefits", "Benefit")
    TierBenefit = apps.get_model("benefits", "TierBenefit")
    MemberDayConfig = apps.get_model("benefits", "MemberDayConfig")
    MemberDayConfig.objects.get_or_create(pk=1)
    tiers = {t.code: t for t in Tier.objects.all()}
    for order, (code, name, kind, description, values, brands, categories) in enumerate(CATALOGUE):
        benefit, _ = Benefit.objects.get_or_create(code=code, defaults={
            "name": name, "kind": kind, "description": description, "sort_order": order * 10})
        for tier_code, (text, number) in values.items():
            if tier_code in tiers:
                TierBenefit.objects.get_or_create(tier=tiers[tier_code], benefit=benefit, defaults={
                    "value_text": text, "numeric_value": number, "brands": brands,
                    "categories": categories if kind == "discount" else []})


class Migration(migrations.Migration):
    dependencies = [("benefits", "0001_initial"), ("members", "0004_tier_defaults")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
