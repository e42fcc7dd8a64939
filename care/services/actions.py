"""Improvement actions (整改方案, SD-6): created from a survey report for a dimension, tracked to
done with evidence, and re-measured by a later survey."""
from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from members import scope
from members.models import Store

from ..errors import CareConflict, CareError
from ..locks import improvement_action_lock
from ..models import Dimension, ImprovementAction, Question, Survey

# Status moves an action may make; anything else is a conflict the page explains.
TRANSITIONS = {
    ImprovementAction.Status.OPEN: {ImprovementAction.Status.IN_PROGRESS, ImprovementAction.Status.DONE},
    ImprovementAction.Status.IN_PROGRESS: {ImprovementAction.Status.DONE, ImprovementAction.Status.OPEN},
    ImprovementAction.Status.DONE: {ImprovementAction.Status.IN_PROGRESS},
}


def _owner(owner_id: int, store: Store | None):
    owner = (get_user_model().objects.select_related("staff_profile")
             .filter(pk=owner_id, is_active=True, is_staff=True).first())
    profile = getattr(owner, "staff_profile", None) if owner else None
    if owner is None or (profile is None and not owner.is_superuser):
        raise CareError(_("The owner must be an active staff member."), fields={"owner": [_("Choose a staff member.")]})
    if store is not None and not scope.is_chain_wide(owner) and profile.store_id != store.pk:
        raise CareError(_("The owner must work in the action's store."),
                        fields={"owner": [_("Choose staff of %(store)s.") % {"store": store}]})
    return owner


@transaction.atomic
def action_create(*, staff, survey_id: int, dimension: str, title: str, owner_id: int, due_on: dt.date,
                  plan: str = "", store_id: int | None = None) -> ImprovementAction:
    scope.require_perm(staff, "care.add_improvementaction")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No such survey."))
    errors: dict[str, list[str]] = {}
    if dimension not in Dimension.values:
        errors["dimension"] = [_("Choose one of the survey dimensions.")]
    if not (title or "").strip():
        errors["title"] = [_("Say in a few words what will be done.")]
    if due_on < timezone.localdate():
        errors["due_on"] = [_("The due date cannot be in the past.")]
    store = None
    if store_id:
        store = Store.objects.filter(pk=store_id).first()
        if store is None:
            errors["store"] = [_("Unknown store.")]
    elif not scope.is_chain_wide(staff):
        errors["store"] = [_("Choose your store; only chain-wide staff plan chain-wide actions.")]
    if errors:
        raise CareError(_("The improvement action could not be created; check the fields."), fields=errors)
    if store is not None:
        scope.require_store(staff, store)
    owner = _owner(owner_id, store)
    return ImprovementAction.objects.create(
        source_survey=survey, dimension=dimension, store=store, title=title.strip(), plan=(plan or "").strip(),
        owner=owner, due_on=due_on, created_by=staff,
    )


def _locked_action(staff, action_id: int) -> ImprovementAction:
    scope.require_perm(staff, "care.change_improvementaction")
    from ..selectors import action_list_for_staff

    pk = action_list_for_staff(staff).filter(pk=action_id).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("No such improvement action."))
    return improvement_action_lock(pk)


@transaction.atomic
def action_update(*, staff, action_id: int, status: str, evidence: str = "",
                  evidence_file_note: str = "") -> ImprovementAction:
    """Move the action on (open → in progress → done) and record its evidence; done needs evidence."""
    action = _locked_action(staff, action_id)
    if status not in ImprovementAction.Status.values:
        raise CareError(_("Unknown status."), fields={"status": [_("Choose a status.")]})
    if status != action.status and status not in TRANSITIONS[action.status]:
        raise CareConflict(
            _("An action that is %(from)s cannot become %(to)s.") % {
                "from": action.get_status_display(), "to": ImprovementAction.Status(status).label},
            code="illegal_transition",
        )
    evidence = (evidence or "").strip() or action.evidence
    if status == ImprovementAction.Status.DONE and not evidence:
        raise CareError(_("Describe the evidence before marking the action done."),
                        fields={"evidence": [_("What was done, and how can it be checked?")]})
    action.evidence = evidence
    action.evidence_file_note = (evidence_file_note or "").strip() or action.evidence_file_note
    if status == ImprovementAction.Status.DONE and action.status != status:
        action.done_at = timezone.now()
    elif status != ImprovementAction.Status.DONE:
        action.done_at = None
    action.status = status
    action.save(update_fields=["status", "evidence", "evidence_file_note", "done_at"])
    return action


@transaction.atomic
def action_link_remeasure(*, staff, action_id: int, survey_id: int) -> ImprovementAction:
    """Link a later survey that asks about the same dimension, to measure the action's effect."""
    action = _locked_action(staff, action_id)
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No such survey."))
    source = action.source_survey
    if survey.pk == source.pk or survey.opens_at <= source.opens_at:
        raise CareError(_("Re-measure with a survey that starts after “%(s)s”.") % {"s": source.title},
                        fields={"survey": [_("Choose a later survey.")]})
    if not survey.questions.filter(kind=Question.Kind.RATING, dimension=action.dimension, is_overall=False).exists():
        raise CareError(_("That survey asks no rating question about %(d)s.") % {
            "d": Dimension(action.dimension).label}, fields={"survey": [_("Choose a survey that measures it.")]})
    action.remeasure_survey = survey
    action.save(update_fields=["remeasure_survey"])
    return action
