"""Admin of job runs: records, read-only here. The audit log's admin is store-scoped, so it lives in
members (members/admin.py): core sits below members and must not import it."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter

from .jobs import job_names
from .models import JobRun


class ReadOnlyAdmin(ModelAdmin):
    """Records (histories, logs, job runs, usage written by services): viewable with the view permission,
    never added, changed or deleted here. The apps use it through members.admin_base, next to store scope."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("name", "run_date", "status", "progress", "started_at", "finished_at", "triggered_by")
    list_filter = (("status", ChoicesDropdownFilter), "name")
    search_fields = ("name",)
    fields = ("name", "run_date", "status", "started_at", "finished_at", "progress_done", "progress_total",
              "counts", "error", "triggered_by")
    readonly_fields = fields
    actions = ["run_again_now"]

    @admin.display(description=_("progress"))
    def progress(self, obj):
        if obj.progress_total:
            return f"{obj.progress_done}/{obj.progress_total}"
        return str(obj.progress_done)

    def has_run_permission(self, request):
        return request.user.is_superuser

    @admin.action(description=_("Run the selected jobs again now (for today)"), permissions=["run"])
    def run_again_now(self, request, queryset):
        from .tasks import run_job_task  # Celery app import stays out of admin autodiscovery

        names = sorted(set(queryset.values_list("name", flat=True)) & set(job_names()))
        for name in names:
            transaction.on_commit(lambda name=name: run_job_task.delay(name))
        self.message_user(
            request, gettext("Queued: %(names)s.") % {"names": ", ".join(names) or "-"}, messages.SUCCESS
        )
