"""Admin of job runs (records, read-only here) and of the periodic tasks that start them. The audit log's
admin is store-scoped, so it lives in members (members/admin.py): core sits below members and must not
import it."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from .beat import crontab_text, interval_text, schedule_text, task_label
from .jobs import job_label, job_names
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
    list_display = ("job", "name", "run_date", "status", "progress", "started_at", "finished_at", "triggered_by")
    list_filter = (("status", ChoicesDropdownFilter), "name")
    search_fields = ("name",)
    fields = ("name", "run_date", "status", "started_at", "finished_at", "progress_done", "progress_total",
              "counts", "error", "triggered_by")
    readonly_fields = fields
    actions = ["run_again_now"]

    @admin.display(description=_("job"))
    def job(self, obj):
        return job_label(obj.name)

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


# ---------------------------------------------------------------- periodic tasks (django-celery-beat)
# Re-registered on unfold's ModelAdmin, subclassing the package's own admins (their actions, form checks
# and queryset stay), with what staff read in place of task paths and cron syntax: the job's label and the
# schedule in words (core.beat, which also makes them the models' str(), so the schedule choices read
# as words too). django_celery_beat comes before core in INSTALLED_APPS, so its admin is
# registered by the time this module runs.


class UnfoldTaskSelectWidget(UnfoldAdminSelectWidget, beat_admin.TaskSelectWidget):
    pass


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].widget = UnfoldAdminTextInputWidget()
        self.fields["regtask"].widget = UnfoldTaskSelectWidget()


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    form = PeriodicTaskForm
    # unfold's change form: the package's template adds an English, inline-script "Translation:" line.
    change_form_template = None
    list_display = ("job", "schedule", "enabled", "last_run_at", "total_run_count", "name")
    list_display_links = ("job",)
    list_filter = ["enabled", "one_off", "last_run_at"]
    readonly_fields = ("job", "schedule", "last_run_at", "total_run_count")
    fieldsets = (
        (None, {"fields": ("job", "schedule", "name", "enabled", "description")}),
        (pgettext_lazy("periodic task", "Schedule"), {"fields": ("interval", "crontab", "solar", "clocked", "start_time", "one_off")}),
        (_("Task"), {"fields": ("regtask", "task", "args", "kwargs", "last_run_at", "total_run_count")}),
        (_("Execution Options"), {"fields": ("expires", "expire_seconds", "queue", "exchange", "routing_key",
                                            "priority", "headers"), "classes": ("collapse",)}),
    )

    @admin.display(description=_("job"))
    def job(self, obj):
        return task_label(obj)

    @admin.display(description=_("schedule"))
    def schedule(self, obj):
        return schedule_text(obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The package's override only adds English cron descriptions for its own template.
        return ModelAdmin.changeform_view(self, request, object_id, form_url, extra_context)


class UnfoldScheduleInline(TabularInline):
    model = PeriodicTask
    fields = ("name", "task", "args")
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = True
    verbose_name = _("Periodic task using this schedule")
    verbose_name_plural = _("Periodic tasks using this schedule")

    def has_add_permission(self, request, obj=None):
        return False


for model in (CrontabSchedule, IntervalSchedule, SolarSchedule, ClockedSchedule):
    admin.site.unregister(model)


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    inlines = [UnfoldScheduleInline]
    list_display = ("description", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    fields = ("description", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
    readonly_fields = ("description",)

    @admin.display(description=_("schedule"))
    def description(self, obj):
        return crontab_text(obj)


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(beat_admin.IntervalScheduleAdmin, ModelAdmin):
    inlines = [UnfoldScheduleInline]
    list_display = ("description", "every", "period")

    @admin.display(description=_("schedule"))
    def description(self, obj):
        return interval_text(obj)


@admin.register(SolarSchedule)
class SolarScheduleAdmin(beat_admin.SolarScheduleAdmin, ModelAdmin):
    inlines = [UnfoldScheduleInline]


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ModelAdmin):
    inlines = [UnfoldScheduleInline]
