"""Row locks of the evaluation app, on core.locks (FOR UPDATE OF self)."""
from __future__ import annotations

from core.locks import lock_one

from .models import Segment


def segment_lock(segment_id: int) -> Segment:
    return lock_one(Segment, segment_id)
