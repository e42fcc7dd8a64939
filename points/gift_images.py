"""Gift pictures (issue 16): where an uploaded picture is stored and what the admin accepts.

A picture is served from MEDIA_URL (MEDIA_ROOT; see the README's "Media files"). The upload is checked
before it is stored: a real JPEG / PNG / WebP (Pillow opens it, the extension alone proves nothing),
at most GIFT_IMAGE_MAX_BYTES, and between GIFT_IMAGE_MIN_PX and GIFT_IMAGE_MAX_PX on each side, so a
phone shows a sharp tile and nobody uploads a 12,000 px poster or a decompression bomb.
"""
from __future__ import annotations

import os
import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

GIFT_IMAGE_MAX_BYTES = 2 * 1024 * 1024
GIFT_IMAGE_MIN_PX = 100
GIFT_IMAGE_MAX_PX = 4000
GIFT_IMAGE_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "WEBP": (".webp",)}
GIFT_IMAGE_EXTENSIONS = tuple(ext for exts in GIFT_IMAGE_FORMATS.values() for ext in exts)


def gift_image_path(instance, filename: str) -> str:
    """A random name under gifts/: an uploaded file name is neither trusted nor kept (it may say
    anything, and two gifts' "1.jpg" must not overwrite each other)."""
    ext = os.path.splitext(filename)[1].lower()
    if ext not in GIFT_IMAGE_EXTENSIONS:
        ext = ".png"
    return f"gifts/{uuid.uuid4().hex}{ext}"


def validate_gift_image(file) -> None:
    """The checks an uploaded gift picture passes before it is stored (type, size, dimensions)."""
    from PIL import Image, UnidentifiedImageError

    size = getattr(file, "size", None)
    if size is not None and size > GIFT_IMAGE_MAX_BYTES:
        raise ValidationError(
            _("The picture is %(size)s MB; at most %(max)s MB is accepted."),
            code="gift_image_too_large",
            params={"size": f"{size / 1024 / 1024:.1f}", "max": GIFT_IMAGE_MAX_BYTES // (1024 * 1024)},
        )
    ext = os.path.splitext(getattr(file, "name", "") or "")[1].lower()
    if ext not in GIFT_IMAGE_EXTENSIONS:
        raise ValidationError(_("Upload a JPEG, PNG or WebP picture."), code="gift_image_type")
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError(_("This file is not a picture that can be read."), code="gift_image_unreadable") from exc
    finally:
        if position is not None:
            file.seek(position)
    if image_format not in GIFT_IMAGE_FORMATS:
        raise ValidationError(_("Upload a JPEG, PNG or WebP picture."), code="gift_image_type")
    if ext not in GIFT_IMAGE_FORMATS[image_format]:
        raise ValidationError(_("The file name ends in %(ext)s but the picture is a %(format)s."),
                              code="gift_image_type_mismatch", params={"ext": ext, "format": image_format})
    if min(width, height) < GIFT_IMAGE_MIN_PX or max(width, height) > GIFT_IMAGE_MAX_PX:
        raise ValidationError(
            _("The picture is %(w)s × %(h)s px; each side must be %(min)s to %(max)s px."),
            code="gift_image_dimensions",
            params={"w": width, "h": height, "min": GIFT_IMAGE_MIN_PX, "max": GIFT_IMAGE_MAX_PX},
        )
