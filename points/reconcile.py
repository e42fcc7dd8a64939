"""Reconciliation of the ledger (PTS-3): set-wise SQL checks of every invariant."""
from __future__ import annotations

from django.db import connection

CHECKS = {
    "balance != sum(entries)": """
        SELECT a.member_id, a.balance, COALESCE(e.s, 0) FROM points_pointsaccount a
        LEFT JOIN (SELECT member_id, SUM(points) s FROM points_entry GROUP BY member_id) e ON e.member_id = a.member_id
        WHERE a.balance <> COALESCE(e.s, 0)""",
    "balance != sum(lot remaining)": """
        SELECT a.member_id, a.balance, COALESCE(l.s, 0) FROM points_pointsaccount a
        LEFT JOIN (SELECT member_id, SUM(remaining) s FROM points_lot GROUP BY member_id) l ON l.member_id = a.member_id
        WHERE a.balance <> COALESCE(l.s, 0)""",
    "debt != sum(entry debt changes)": """
        SELECT a.member_id, a.debt, COALESCE(e.s, 0) FROM points_pointsaccount a
        LEFT JOIN (SELECT member_id, SUM(debt_delta) s FROM points_entry GROUP BY member_id) e
          ON e.member_id = a.member_id
        WHERE a.debt <> COALESCE(e.s, 0)""",
    "entries without an account": """
        SELECT e.member_id, COUNT(*), 0 FROM points_entry e
        LEFT JOIN points_pointsaccount a ON a.member_id = e.member_id WHERE a.member_id IS NULL GROUP BY e.member_id""",
    "lot used != its consumptions": """
        SELECT l.member_id, l.points - l.remaining, COALESCE(c.s, 0) FROM points_lot l
        LEFT JOIN (SELECT lot_id, SUM(points) s FROM points_consumption GROUP BY lot_id) c ON c.lot_id = l.id
        WHERE l.points - l.remaining <> COALESCE(c.s, 0)""",
    "consuming entry != its consumptions": """
        SELECT e.member_id, -e.points, COALESCE(c.s, 0) FROM points_entry e
        LEFT JOIN (SELECT entry_id, SUM(points) s FROM points_consumption GROUP BY entry_id) c ON c.entry_id = e.id
        WHERE e.points < 0 AND -e.points <> COALESCE(c.s, 0)""",
    "credit entry != its lot": """
        SELECT e.member_id, e.points, COALESCE(l.points, 0) FROM points_entry e
        LEFT JOIN points_lot l ON l.entry_id = e.id
        WHERE e.points > 0 AND e.points <> COALESCE(l.points, 0)""",
}


def reconcile(limit: int = 100) -> list[tuple[str, int, int, int]]:
    """Every mismatch as (check, member id, expected, found); empty when the ledger is whole."""
    problems = []
    with connection.cursor() as cursor:
        for name, sql in CHECKS.items():
            cursor.execute(sql + f" LIMIT {int(limit)}")
            problems.extend((name, *row) for row in cursor.fetchall())
    return problems
