"""Admin of the audit log and job runs: both are records, read-only here."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter

from members import scope

from .jobs import job_names
from .models import AuditLog, JobRun


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "member", "field", "detail", "ip")
    list_filter = (("action", ChoicesDropdownFilter), ("at", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("actor_label", "=member__member_no", "field")
    list_select_related = ("member",)
    fields = ("at", "actor", "actor_label", "action", "member", "field", "detail", "ip")
    readonly_fields = fields

    def get_queryset(self, request):
        """Entries about members of the viewer's stores, and member-less ones (exports) by their staff."""
        qs = super().get_queryset(request)
        ids = scope.store_ids(request.user)
        if ids is None:
            return qs
        return qs.filter(Q(member__home_store__in=ids) | Q(member__isnull=True, actor__staff_profile__store__in=ids))


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
