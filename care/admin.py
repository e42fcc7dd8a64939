"""Admin (unfold) of member care: visit policies (editable by operations), the survey builder
(questions inline, choices inline on the question), visits, responses read-only and store-scoped,
improvement actions. Questions are frozen once a survey has responses, so answers keep meaning
what was asked; distribution is an action that calls the service."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import ReadOnlyAdmin
from core.errors import MemberHubError
from evaluation.selectors import segment_definition_errors
from members.admin_base import ScopedReadOnlyAdmin

from .models import (
    AccountManagerAssignment,
    CareConfig,
    Choice,
    ImprovementAction,
    Question,
    Response,
    Survey,
    SurveySample,
    Visit,
    VisitAttempt,
    VisitPolicy,
)
from .services.surveys import survey_distribute


@admin.register(VisitPolicy)
class VisitPolicyAdmin(ModelAdmin):
    list_display = ("tier", "visits_per_year")
    list_editable = ("visits_per_year",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Visit)
class VisitAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("due_on", "member", "store", "reason", "assignee", "status", "outcome", "attempts", "satisfaction",
                    "follow_up_needed")
    list_filter = ("status", "reason", "outcome", "follow_up_needed", "store")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "store", "assignee")
    date_hierarchy = "due_on"
    readonly_fields = [f.name for f in Visit._meta.fields]


class QuestionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        overall = 0
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            if form.cleaned_data.get("is_overall"):
                overall += 1
                if form.cleaned_data.get("kind") != Question.Kind.RATING:
                    raise forms.ValidationError(gettext("The overall satisfaction question must be a 1-5 rating."))
        if overall != 1:
            raise forms.ValidationError(
                gettext("Mark exactly one question as the overall satisfaction (now %(n)d).") % {"n": overall})


class _FrozenWhenAnswered:
    """Inline rows cannot change once the survey has responses."""

    def _answered(self, obj) -> bool:
        survey = obj if isinstance(obj, Survey) else getattr(obj, "survey", None)
        return bool(survey and survey.pk and survey.responses.exists())

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not self._answered(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._answered(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._answered(obj)


class QuestionInline(_FrozenWhenAnswered, TabularInline):
    model = Question
    formset = QuestionFormSet
    fields = ("order", "text", "kind", "dimension", "is_overall", "required")
    extra = 0
    show_change_link = True


class ChoiceInline(_FrozenWhenAnswered, TabularInline):
    model = Choice
    fields = ("order", "text")
    extra = 2


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["title", "intro", "anonymous", "opens_at", "closes_at", "satisfied_threshold", "segment_rule",
                  "stores", "tiers"]

    def clean_segment_rule(self):
        rule = self.cleaned_data.get("segment_rule") or {}
        if not isinstance(rule, dict):
            raise forms.ValidationError(gettext("The segment is a JSON object of filter keys."))
        errors = segment_definition_errors(rule)
        if errors:
            raise forms.ValidationError(" ".join(errors))
        return rule


@admin.register(Survey)
class SurveyAdmin(ModelAdmin):
    form = SurveyForm
    list_display = ("title", "opens_at", "closes_at", "anonymous", "satisfied_threshold", "distributed_at")
    search_fields = ("title",)
    inlines = [QuestionInline]
    filter_horizontal = ("stores", "tiers")
    readonly_fields = ("distributed_at", "created_by", "created_at")
    actions = ["distribute"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send to the target segment"), permissions=["distribute"])
    def distribute(self, request, queryset):
        for survey in queryset.order_by("pk"):
            try:
                result = survey_distribute(survey_id=survey.pk, staff=request.user)
            except MemberHubError as exc:
                self.message_user(request, f"{survey}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, gettext("%(s)s: sent to %(sent)d members.") % {
                    "s": survey, "sent": result["sent"]}, messages.SUCCESS)

    def has_distribute_permission(self, request):
        return request.user.has_perm("care.distribute_survey")


@admin.register(Question)
class QuestionAdmin(ModelAdmin):
    list_display = ("survey", "order", "text", "kind", "dimension", "is_overall")
    list_filter = ("kind", "dimension")
    inlines = [ChoiceInline]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.survey.responses.exists():
            return ("survey", "order", "text", "kind", "dimension", "is_overall", "required")
        return ()

    def has_module_permission(self, request):
        return False  # reached from the survey (change link)


@admin.register(Response)
class ResponseAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("survey", "store", "member", "channel", "entered_by", "submitted_at")
    list_filter = ("survey", "channel", "store")
    list_select_related = ("survey", "store", "member", "entered_by")
    readonly_fields = ("survey", "store", "member", "channel", "entered_by", "submitted_at")


@admin.register(ImprovementAction)
class ImprovementActionAdmin(ScopedReadOnlyAdmin):
    """Read here; created and moved on from the desk pages through the services."""

    store_field = "store"
    list_display = ("title", "source_survey", "dimension", "store", "owner", "due_on", "status", "remeasure_survey")
    list_filter = ("status", "dimension", "store")
    list_select_related = ("source_survey", "store", "owner", "remeasure_survey")
    readonly_fields = [f.name for f in ImprovementAction._meta.fields]

    def get_queryset(self, request):
        # The desk's selector: the viewer's stores plus the actions they own (chain-wide ones included).
        from .selectors import action_list_for_staff

        return action_list_for_staff(request.user)


@admin.register(CareConfig)
class CareConfigAdmin(ModelAdmin):
    """Event visits, retries and the tiers with a dedicated account manager (one row, seeded)."""

    fields = ("large_purchase_amount", "event_visit_due_days", "follow_up_due_days", "visit_attempts",
              "retry_after_days", "account_manager_tiers")
    filter_horizontal = ("account_manager_tiers",)

    def has_add_permission(self, request):
        return not CareConfig.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(VisitAttempt)
class VisitAttemptAdmin(ScopedReadOnlyAdmin):
    store_field = "visit__store"
    list_display = ("at", "visit", "staff", "reached")
    list_filter = ("reached",)
    list_select_related = ("visit", "staff")
    readonly_fields = ("visit", "at", "staff", "reached", "note")


@admin.register(AccountManagerAssignment)
class AccountManagerAssignmentAdmin(ScopedReadOnlyAdmin):
    """History of dedicated account managers; assigned from the member's desk page (audited service)."""

    store_field = "member__home_store"
    list_display = ("member", "manager", "starts_at", "ends_at", "assigned_by")
    list_filter = ("ends_at",)
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "manager", "assigned_by")
    readonly_fields = [f.name for f in AccountManagerAssignment._meta.fields]


@admin.register(SurveySample)
class SurveySampleAdmin(ReadOnlyAdmin):
    """Random samples of survey audiences with their seeds (drawn from the desk survey list); the drawn
    members of each are on the desk's call list, limited there to the viewer's stores."""

    list_display = ("survey", "created_at", "sample_size", "sample_percent", "seed", "population", "drawn", "sent",
                    "created_by")
    list_select_related = ("survey", "created_by")
    readonly_fields = [f.name for f in SurveySample._meta.fields]
