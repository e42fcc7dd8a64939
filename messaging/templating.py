"""Template rendering: `{name}` placeholders only (no attribute access, so an edited template can
never reach into Python objects), filled from the send's params and a few member fields."""
from __future__ import annotations

import re

from django.utils.translation import gettext as _

from core.errors import ValidationFailed

PLACEHOLDER = re.compile(r"\{(\w+)\}")


class TemplateParamMissing(ValidationFailed):
    code = "template_param_missing"


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text or "")


def render(text: str, params: dict) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in params:
            raise TemplateParamMissing(_("The template needs the parameter {%(name)s}.") % {"name": name})
        return str(params[name])

    return PLACEHOLDER.sub(fill, text or "")


def member_params(member) -> dict:
    """Parameters every template may use about its member."""
    if member is None:
        return {}
    return {"name": member.name, "member_no": member.member_no}
