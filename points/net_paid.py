"""Net paid (实付净额): what a member actually paid for a purchase, net of its refunds. The one definition
behind the tier engine's rolling amount (TIER-2), RFM's M and closeness's amount (EVAL-1, EVAL-2), the
dashboards' daily amount and the consumption cube (EVAL-3, EVAL-5):

    net paid = amount_paid × (1 − refunded / amount_total), rounded to the cent (half up), never negative

`amount_paid` is what the tenders other than coupon, gift card and points paid (points.calculation).
Refunds are made in terms of the bill (`amount_total`, which coupons and the points offset paid part of),
so a refund takes back the paid share of the bill in proportion: bill 100, paid 80 (coupon 20), refunded
50 → net paid 40 (not 80 − 50 = 30, and never below 0). A full refund leaves 0, and so does a bill of 0.

One rule, three forms that tests/points/test_net_paid.py holds equal:
- `net_paid(...)`: Python, for one purchase (pages, APIs, tests);
- `net_paid_sql(...)`: the SQL expression over a purchase row `p`, with the purchase's current refunds
  (`p.amount_refunded`, the default) or any refunded-amount expression: `refunded_as_of_sql(...)` or
  `refunds_as_of_join(...)`'s column for a figure "as of" a past instant (refunds made by then count);
- `points.selectors.net_paid_for_member` / `net_paid_for_purchase`, the reads built on the SQL form.

Where it lives, and why: points owns purchases and refunds, so it owns this figure. tiers and dashboards
sit above points and import this module. evaluation sits *below* points in the layers contract
(pyproject.toml), so it may not import it; PointsConfig.ready() registers this module with
`core.figures` (the hook pattern of points.hooks and core.panels: an arrow that must point up is a hook,
not an import) and evaluation's set-wise SQL asks `core.figures.net_paid_figure()` for the same builders.
Copying the fragment into a lower layer instead would make members or core name the points tables and
would leave two places to change; a source scan (tests/points/test_net_paid.py) keeps every other module
from spelling the formula itself.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from core.money import CENT

ZERO = Decimal("0.00")


def net_paid(*, amount_paid: Decimal, amount_total: Decimal, refunded: Decimal | None) -> Decimal:
    """Net paid of one purchase whose refunds so far add up to `refunded` (in terms of the bill)."""
    refunded = refunded or ZERO
    if refunded <= 0:
        return Decimal(amount_paid).quantize(CENT)
    if refunded >= amount_total:
        return ZERO
    share = Decimal(amount_paid) * (Decimal(amount_total) - refunded) / Decimal(amount_total)
    return max(ZERO, share.quantize(CENT, rounding=ROUND_HALF_UP))


def net_paid_sql(*, purchase: str = "p", refunded: str | None = None) -> str:
    """SQL expression: net paid of the purchase row aliased `purchase`. `refunded` is an expression of
    the refunded amount (NULL = nothing refunded); the default is the purchase's current refunds.

    Unrefunded rows (nearly all) take the first branch and pay no division. PostgreSQL's ROUND on
    numeric rounds half away from zero, as ROUND_HALF_UP does for these non-negative amounts.
    A refunded amount > 0 implies amount_total > 0 (refunds never exceed the bill: refund_not_over_bill)."""
    paid, total = f"{purchase}.amount_paid", f"{purchase}.amount_total"
    refunded = refunded or f"{purchase}.amount_refunded"
    return (f"(CASE WHEN COALESCE({refunded}, 0) <= 0 THEN {paid} "
            f"ELSE GREATEST(ROUND({paid} * ({total} - {refunded}) / {total}, 2), 0) END)")


def refunded_as_of_sql(*, purchase: str = "p", end: str = "end") -> str:
    """SQL scalar subquery: the purchase's refunds made before the instant `%(end)s`. For a few rows (a
    day's purchases); a whole window joins `refunds_as_of_join` instead."""
    return (f"(SELECT SUM(r_asof.amount) FROM points_refund r_asof "
            f"WHERE r_asof.purchase_id = {purchase}.id AND r_asof.occurred_at < %({end})s)")


def refunds_as_of_join(*, purchase: str = "p", alias: str = "rf", end: str = "end") -> str:
    """SQL LEFT JOIN giving `<alias>.amount`: each purchase's refunds made before `%(end)s` (NULL when
    none), aggregated once and hash-joined, for reads over many purchases (RFM, closeness). Use with
    `net_paid_sql(refunded=f"{alias}.amount")`."""
    return (f"LEFT JOIN (SELECT r.purchase_id, SUM(r.amount) AS amount FROM points_refund r "
            f"WHERE r.occurred_at < %({end})s GROUP BY r.purchase_id) {alias} ON {alias}.purchase_id = {purchase}.id")


# The expression with current refunds, for the common case.
NET_PAID_SQL = net_paid_sql()
