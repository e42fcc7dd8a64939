"""Electronic member card (MEM-3): the card number as text and a QR code.

The QR carries a signed, short-lived payload ("MH1:<member_no>:<signature>"), so a screenshot stops
working after MEMBER_QR_TTL_SECONDS and a forged number is refused; tills read it through the
member lookup API."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core import signing

from .models import Member

_SALT = "memberhub.ecard"
PREFIX = "MH1:"


def qr_payload(member: Member) -> str:
    return PREFIX + signing.TimestampSigner(salt=_SALT).sign(member.member_no)


def member_no_from_qr(payload: str) -> str | None:
    """The member number inside a valid, unexpired payload; None otherwise."""
    if not payload or not payload.startswith(PREFIX):
        return None
    try:
        return signing.TimestampSigner(salt=_SALT).unsign(
            payload[len(PREFIX):], max_age=settings.MEMBER_QR_TTL_SECONDS
        )
    except signing.BadSignature:
        return None


def qr_svg(data: str) -> str:
    """Inline SVG of a QR code (no image files, no external service)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buf = io.BytesIO()
    image.save(buf)
    svg = buf.getvalue().decode()
    return svg[svg.index("<svg"):]
