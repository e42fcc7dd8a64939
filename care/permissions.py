"""The care permissions each staff role needs (least privilege, as members.roles).

To be merged into members.roles.ROLE_PERMISSIONS; tests attach them with `attach_role_permissions`."""
from __future__ import annotations

from members import roles

_SURVEY_BUILD = ["care.view_survey", "care.add_survey", "care.change_survey", "care.view_question",
                 "care.add_question", "care.change_question", "care.delete_question", "care.view_choice",
                 "care.add_choice", "care.change_choice", "care.delete_choice"]

CARE_ROLE_PERMISSIONS: dict[str, list[str]] = {
    roles.FRONT_DESK: ["care.view_visit", "care.record_visit"],
    roles.CUSTOMER_SERVICE: ["care.view_visit", "care.record_visit", "care.view_survey", "care.view_survey_report",
                             "care.view_improvementaction", "care.change_improvementaction"],
    roles.OPERATIONS_MANAGER: ["care.view_visit", "care.view_visitpolicy", "care.change_visitpolicy",
                               *_SURVEY_BUILD, "care.distribute_survey", "care.view_survey_report",
                               "care.view_improvementaction", "care.add_improvementaction",
                               "care.change_improvementaction"],
    roles.AUDITOR: ["care.view_visit", "care.view_visitpolicy", "care.view_survey", "care.view_question",
                    "care.view_survey_report", "care.view_improvementaction"],
}


def attach_role_permissions(apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in CARE_ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [p.split(".")[1] for p in perms]
        group.permissions.add(*Permission.objects.filter(content_type__app_label="care", codename__in=codenames))
