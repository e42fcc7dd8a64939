"""Bounded API input (issue 13): JSON bodies limited in size and depth before they are parsed, and list
paging capped. A module of its own, imported by DRF settings (DEFAULT_PARSER_CLASSES /
DEFAULT_PAGINATION_CLASS): it must not import rest_framework.views or generics, whose class bodies read those
settings, or whichever module is imported first would be only half-initialised (the Celery worker's case)."""
from __future__ import annotations

from rest_framework import exceptions, pagination, parsers, status
from rest_framework.utils import json  # DRF's json: strict_constant refuses NaN and Infinity

MAX_JSON_BYTES = 256 * 1024  # the largest real body (a gift order, a 200-line basket) is a few KB
MAX_JSON_DEPTH = 20          # our bodies nest 4 deep; json's C parser recurses and 10,000 deep is a 500


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True when brackets nest deeper than `limit` outside strings (one linear scan, no recursion)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies are bounded in size and depth before they are parsed: 413 / 400, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_JSON_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_JSON_BYTES:
            raise PayloadTooLarge(f"The request body is larger than {MAX_JSON_BYTES // 1024} KB.")
        if json_depth_exceeds(raw, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
        try:
            return json.loads(raw.decode((parser_context or {}).get("encoding") or "utf-8") or "null",
                              parse_constant=json.strict_constant if self.strict else None)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


MAX_PAGE_SIZE = 200
MAX_OFFSET = 10_000_000


class BoundedLimitOffsetPagination(pagination.LimitOffsetPagination):
    """?limit= is capped at MAX_PAGE_SIZE; an absurd ?offset= is a 400, not a database error."""

    max_limit = MAX_PAGE_SIZE

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param, "")
        if raw and (not raw.isascii() or not raw.isdigit() or int(raw) > MAX_OFFSET):
            raise exceptions.ValidationError({self.offset_query_param: [
                f"Give a whole number from 0 to {MAX_OFFSET}."]})
        return super().get_offset(request)


