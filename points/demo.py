"""Demo purchase history for seed_demo: two years of purchases with their points, written
set-wise in SQL (a few statements for any number of members) so that the ledger reconciles
exactly as if every purchase had gone through purchase_post: one purchase, one credit entry, one
lot, and the account balance. Spend follows the member's tier so the nightly tier job agrees.
"""
from __future__ import annotations

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from points.jobs import expire_points_for

# Yearly spend (yuan) around which each tier's members buy; visits per year.
TIER_SPEND = {"normal": (1500, 5), "silver": (9000, 10), "gold": (32000, 16), "platinum": (140000, 24)}

_PURCHASES = """
WITH m AS (
    SELECT m.id, m.home_store_id, t.code AS tier, t.points_rate,
           GREATEST(1, round(v.visits * 2 * (0.5 + random())))::int AS n, v.spend / v.visits AS avg_ticket
    FROM members_member m JOIN members_tier t ON t.id = m.tier_id
    JOIN (VALUES %(values)s) AS v(code, spend, visits) ON v.code = t.code
    WHERE m.id = ANY(%%(ids)s)
), p AS (
    SELECT m.id AS member_id, m.home_store_id, m.points_rate, g AS seq,
           now() - (random() * interval '730 days') AS occurred_at,
           round((m.avg_ticket * (0.3 + random() * 1.4))::numeric, 2) AS amount,
           (ARRAY['服装','化妆品','珠宝','鞋包','家居','食品','运动','儿童'])[1 + floor(random() * 8)::int] AS category,
           (ARRAY['LANCOME','ESTEE','CHOW TAI FOOK','NIKE','ADIDAS','ZARA','MUJI','APPLE'])[1 + floor(random() * 8)::int] AS brand
    FROM m CROSS JOIN LATERAL generate_series(1, m.n) AS g
)
INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total, amount_paid, amount_refunded,
                             points_earned, points_reversed, lines, tenders, campaigns, request_hash, source, created_at,
                             changed_at, points_held)
SELECT home_store_id, 'DEMO-' || member_id || '-' || seq, member_id, occurred_at, amount, amount, 0,
       floor(amount * points_rate)::bigint, 0,
       jsonb_build_array(jsonb_build_object('brand', brand, 'category', category, 'amount', amount::text)),
       jsonb_build_array(jsonb_build_object('type', 'wechat', 'amount', amount::text)),
       '[]'::jsonb, md5(member_id || '-' || seq), 'demo', occurred_at, occurred_at, 0
FROM p WHERE amount > 0
ON CONFLICT (store_id, order_no) DO NOTHING
"""

_LEDGER = """
WITH e AS (
    INSERT INTO points_entry (member_id, kind, points, debt_delta, balance_after, created_at, store_id, purchase_id,
                              campaigns, reason, source_ref, idem_key)
    SELECT p.member_id, 'credit', p.points_earned, 0,
           SUM(p.points_earned) OVER (PARTITION BY p.member_id ORDER BY p.occurred_at, p.id),
           p.occurred_at, p.store_id, p.id, '[]'::jsonb, %(reason)s, p.order_no, 'purchase:' || p.id
    FROM points_purchase p
    WHERE p.member_id = ANY(%(ids)s) AND p.points_earned > 0 AND p.source = 'demo'
      AND NOT EXISTS (SELECT 1 FROM points_entry x WHERE x.purchase_id = p.id)
    RETURNING id, member_id, points, created_at
)
INSERT INTO points_lot (member_id, entry_id, points, remaining, earned_on, available_on, expires_on)
SELECT e.member_id, e.id, e.points, e.points, (e.created_at AT TIME ZONE 'Asia/Shanghai')::date,
       (e.created_at AT TIME ZONE 'Asia/Shanghai')::date,
       ((e.created_at AT TIME ZONE 'Asia/Shanghai')::date + make_interval(months => %(months)s))::date
FROM e
"""

_ACCOUNTS = """
INSERT INTO points_pointsaccount (member_id, balance, debt, updated_at)
SELECT member_id, SUM(remaining), 0, %(now)s FROM points_lot WHERE member_id = ANY(%(ids)s) GROUP BY member_id
ON CONFLICT (member_id) DO UPDATE SET balance = EXCLUDED.balance, updated_at = EXCLUDED.updated_at
"""


def seed_purchases(member_ids: list[int], *, seed: int, expiry_months: int = 24) -> dict:
    """Purchases over the last two years for `member_ids`, points credited, due points expired."""
    if not member_ids:
        return {"purchases": 0}
    values = ", ".join(f"('{code}', {spend}, {visits})" for code, (spend, visits) in TIER_SPEND.items())
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(_PURCHASES % {"values": values}, {"ids": member_ids})
        purchases = cursor.rowcount
        # The same words a till purchase writes (points.services.purchases), in the seeding language.
        cursor.execute(_LEDGER, {"ids": member_ids, "months": expiry_months, "reason": gettext("Purchase")})
        cursor.execute(_ACCOUNTS, {"ids": member_ids, "now": timezone.now()})
    expired = expire_points_for(timezone.localdate())
    return {"purchases": purchases, "expired_points": expired["points"]}
