"""Event attendance (活动响应) as a figure other apps read set-wise: a member attended an event when
their registration was checked in at the door (CheckIn; guests are not members and do not count).

evaluation's closeness (EVAL-2, seed 000 会员关系紧密度: 对活动的响应) sits below engagement in the layers
contract, so EngagementConfig.ready() registers this module with core.figures and the closeness job
asks `core.figures.event_attendance_figure()` for the SQL instead of naming engagement's tables."""
from __future__ import annotations


def attendance_by_member_sql(*, start: str = "start", end: str = "end") -> str:
    """SQL select of (member_id, n): check-ins at the door in [%(start)s, %(end)s), one per event and
    member (a registration is checked in at most once, UNIQUE)."""
    return ("SELECT r.member_id, COUNT(*) AS n FROM engagement_checkin c "
            "JOIN engagement_registration r ON r.id = c.registration_id "
            f"WHERE c.at >= %({start})s AND c.at < %({end})s GROUP BY r.member_id")
