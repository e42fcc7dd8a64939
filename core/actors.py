"""Who did it, in words. Logs keep a stable code for actors that are not staff accounts ("member",
"system", "command", "device:<till>", a job's name); pages, the admin and exports show words, never the
code (issue 16). One place: every model with an `actor_label` column mixes in `ActorLabelled`."""
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

WORDS = {
    "member": _("the member (self-service)"),
    "system": _("system"),
    "command": _("command line"),
}


def actor_words(label: str) -> str:
    if label in WORDS:
        return str(WORDS[label])
    if label.startswith("device:"):
        return gettext("till %(name)s") % {"name": label.removeprefix("device:")}
    from core.jobs import _REGISTRY, job_label  # core.jobs imports core.models, which import this module

    if label in _REGISTRY:
        return gettext("job: %(label)s") % {"label": job_label(label)}
    return label  # a staff username


class ActorLabelled:
    """Mixin for models with an `actor_label` field: `actor_display` for templates and list_display."""

    @admin.display(description=_("by"), ordering="actor_label")
    def actor_display(self) -> str:
        return actor_words(self.actor_label)
