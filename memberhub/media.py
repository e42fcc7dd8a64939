"""Uploaded files (gift pictures) served from MEDIA_ROOT when no reverse proxy does it (SERVE_MEDIA).

Only GET/HEAD of a file below MEDIA_ROOT (django.views.static.serve refuses `..` and directory listings),
with nosniff and a day of browser caching: the names are random (points.gift_images.gift_image_path), a
new picture gets a new name, so a cached one never goes stale. Only picture types are served inline."""
from __future__ import annotations

import mimetypes

from django.conf import settings
from django.http import Http404
from django.views.decorators.http import require_safe
from django.views.static import serve

MEDIA_TYPES = {"image/png", "image/jpeg", "image/webp"}
MEDIA_MAX_AGE = 24 * 3600


@require_safe
def media_serve(request, path: str):
    if mimetypes.guess_type(path)[0] not in MEDIA_TYPES:
        raise Http404
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
    return response
