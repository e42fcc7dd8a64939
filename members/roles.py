"""Staff roles (MEM-10) as permission groups, each with the least its work needs.

The migration and `ensure_roles` (run again by later apps' migrations) use this table."""
from __future__ import annotations

FRONT_DESK = "前台"
CUSTOMER_SERVICE = "客服"
OPERATIONS_MANAGER = "运营经理"
AUDITOR = "审计"
ADMINISTRATOR = "管理员"

_POINTS_READ = ["points.view_entry", "points.view_pointsaccount", "points.view_lot", "points.view_purchase",
                "points.view_refund", "points.view_campaign", "points.view_gift", "points.view_giftorder",
                "points.view_coupontype", "points.view_coupon", "points.view_offset", "points.view_lottery",
                "points.view_prize", "points.view_draw", "points.view_adjustment", "points.view_deskposting",
                "points.view_pointsclaim"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    FRONT_DESK: [
        "members.view_member", "members.add_member", "members.reveal_sensitive", "members.review_member",
        "members.add_consentlog",
        "members.view_changerequest", "members.add_changerequest", "members.view_consentlog",
        "members.view_memberchange", "members.view_tag", "members.add_membertag", "members.delete_membertag",
        "members.view_membertag", "members.view_store", "members.import_member", "members.view_corporateprofile",
        *_POINTS_READ, "points.add_purchase", "points.add_refund", "tiers.view_tierchange",
        "points.add_giftorder", "points.change_giftorder", "points.add_coupon", "points.change_coupon",
        "points.add_offset", "points.change_offset", "points.add_draw", "points.add_adjustment",
        "service_desk.view_complaint", "service_desk.add_complaint", "service_desk.view_complaintevent",
        "service_desk.view_consultation", "service_desk.add_consultation", "service_desk.change_consultation",
        "service_desk.view_faqarticle",
    ],
    CUSTOMER_SERVICE: [
        "members.view_member", "members.reveal_sensitive", "members.review_member", "members.view_changerequest",
        "members.add_consentlog",
        "members.add_changerequest", "members.view_consentlog", "members.view_memberchange", "members.view_tag",
        "members.view_membertag", "members.view_store", *_POINTS_READ, "tiers.view_tierchange",
        "points.add_adjustment", "points.add_coupon",
        "service_desk.view_complaint", "service_desk.add_complaint", "service_desk.view_complaintevent",
        "service_desk.view_consultation", "service_desk.add_consultation", "service_desk.change_consultation",
        "service_desk.view_faqarticle",
        "service_desk.handle_complaint", "service_desk.compensate_complaint", "service_desk.add_followupcall",
        "service_desk.add_faqarticle", "service_desk.change_faqarticle",
    ],
    OPERATIONS_MANAGER: [
        "members.view_member", "members.export_member", "members.import_member", "members.change_member_status",
        "members.review_member",
        "members.view_changerequest", "members.view_memberchange", "members.view_consentlog",
        "members.view_tag", "members.add_tag", "members.change_tag", "members.delete_tag",
        "members.view_membertag", "members.add_membertag", "members.delete_membertag",
        "members.view_store", "members.view_tier", "core.view_jobrun",
        "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule", "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        *_POINTS_READ, "points.view_pointsconfig", "points.change_pointsconfig", "points.add_campaign",
        "points.change_campaign", "members.change_tier",
        "tiers.view_tierchange", "tiers.grant_tier", "tiers.view_tierproposal", "tiers.decide_tierproposal",
        "points.add_gift", "points.change_gift", "points.add_coupontype", "points.change_coupontype",
        "points.add_lottery", "points.change_lottery", "points.add_prize", "points.change_prize",
        "points.change_giftorder", "points.change_coupon", "points.add_adjustment", "points.approve_adjustment",
        "service_desk.view_complaint", "service_desk.handle_complaint", "service_desk.compensate_complaint",
        "service_desk.view_complaintevent", "service_desk.view_compliance_report", "service_desk.view_escalation",
        "service_desk.view_slapolicy", "service_desk.change_slapolicy", "service_desk.view_tierslashortening",
        "service_desk.add_tierslashortening", "service_desk.change_tierslashortening",
        "service_desk.view_department", "service_desk.add_department", "service_desk.change_department",
        "service_desk.view_consultation", "service_desk.view_faqarticle", "service_desk.add_faqarticle",
        "service_desk.change_faqarticle", "service_desk.delete_faqarticle",
    ],
    AUDITOR: [
        "members.view_member", "members.view_changerequest", "members.view_memberchange",
        "members.view_consentlog", "members.view_tag", "members.view_membertag", "members.view_store",
        "members.view_staffprofile", "members.view_device", "core.view_auditlog", "core.view_jobrun",
        *_POINTS_READ, "points.view_pointsconfig", "points.view_consumption",
        "tiers.view_tierchange", "tiers.view_tierproposal",
        "service_desk.view_complaint", "service_desk.view_complaintevent", "service_desk.view_escalation",
        "service_desk.view_compliance_report", "service_desk.view_consultation", "service_desk.view_compensation",
        "service_desk.view_complaintrating", "service_desk.view_followupcall",
    ],
}


def ensure_roles(apps) -> None:
    """Create the groups and (re)attach their permissions; the administrator gets everything."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*wanted)
    admin_group, _ = Group.objects.get_or_create(name=ADMINISTRATOR)
    admin_group.permissions.set(Permission.objects.all())


# Member care (follow-up visits, satisfaction surveys: SD-5, SD-6).
_SURVEY_BUILD = ["care.view_survey", "care.add_survey", "care.change_survey", "care.view_question",
                 "care.add_question", "care.change_question", "care.delete_question", "care.view_choice",
                 "care.add_choice", "care.change_choice", "care.delete_choice"]
_CARE = {
    FRONT_DESK: ["care.view_visit", "care.record_visit"],
    CUSTOMER_SERVICE: ["care.view_visit", "care.record_visit", "care.view_survey", "care.view_survey_report",
                       "care.view_improvementaction", "care.change_improvementaction"],
    OPERATIONS_MANAGER: ["care.view_visit", "care.view_visitpolicy", "care.change_visitpolicy", *_SURVEY_BUILD,
                         "care.distribute_survey", "care.view_survey_report", "care.view_improvementaction",
                         "care.add_improvementaction", "care.change_improvementaction"],
    AUDITOR: ["care.view_visit", "care.view_visitpolicy", "care.view_survey", "care.view_question",
              "care.view_survey_report", "care.view_improvementaction"],
}
for _role, _perms in _CARE.items():
    ROLE_PERMISSIONS[_role].extend(_perms)

ROLE_PERMISSIONS[OPERATIONS_MANAGER].append("dashboards.view_dashboard")
ROLE_PERMISSIONS[AUDITOR].append("dashboards.view_dashboard")

# Evaluation (RFM, closeness, lifecycle, segments: EVAL-1, 2, 4, 6).
_EVAL_VIEW = ["evaluation.view_rfmrun", "evaluation.view_rfmsnapshot", "evaluation.view_closenesssnapshot",
              "evaluation.view_lifecyclesnapshot", "evaluation.view_closenessweights", "evaluation.view_lifecyclerule",
              "evaluation.view_segment", "evaluation.view_referral"]
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    *_EVAL_VIEW, "evaluation.change_closenessweights", "evaluation.change_lifecyclerule", "evaluation.add_segment",
    "evaluation.change_segment", "evaluation.delete_segment", "evaluation.add_referral",
])
ROLE_PERMISSIONS[AUDITOR].extend(_EVAL_VIEW)
for _role in (FRONT_DESK, CUSTOMER_SERVICE):
    ROLE_PERMISSIONS[_role].extend(["evaluation.view_referral", "evaluation.add_referral"])

ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend(["messaging.view_campaign", "messaging.add_campaign",
                                             "messaging.change_campaign", "messaging.send_campaign"])
ROLE_PERMISSIONS[AUDITOR].append("messaging.view_campaign")

# Quotas, loans and reservations (BEN-4, BEN-5).
ROLE_PERMISSIONS[FRONT_DESK].extend([
    "amenities.view_parkinguse", "amenities.add_parkinguse", "amenities.add_giftwrapuse", "amenities.view_loan",
    "amenities.add_loan", "amenities.change_loan", "amenities.view_booking", "amenities.change_booking"])
ROLE_PERMISSIONS[CUSTOMER_SERVICE].extend([
    "amenities.view_parkinguse", "amenities.view_loan", "amenities.view_booking", "amenities.change_booking"])
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    "amenities.view_quotapolicy", "amenities.change_quotapolicy", "amenities.view_resource", "amenities.add_resource",
    "amenities.change_resource", "amenities.view_slot", "amenities.add_slot", "amenities.change_slot",
    "amenities.view_loan", "amenities.view_booking"])
ROLE_PERMISSIONS[AUDITOR].extend([
    "amenities.view_parkinguse", "amenities.view_giftwrapuse", "amenities.view_loan", "amenities.view_booking",
    "amenities.view_quotapolicy"])

# Alliance partners and member events (BEN-6, BEN-7).
_ENGAGEMENT_VIEW = ["engagement.view_event", "engagement.view_partner", "engagement.view_partneroffer",
                    "engagement.view_redemptioncode", "engagement.view_registration", "engagement.view_checkin",
                    "engagement.view_feedback"]
ROLE_PERMISSIONS[FRONT_DESK].extend(["engagement.view_event", "engagement.add_checkin"])
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    *_ENGAGEMENT_VIEW, "engagement.add_event", "engagement.change_event", "engagement.add_partner",
    "engagement.change_partner", "engagement.add_partneroffer", "engagement.change_partneroffer", "engagement.add_checkin"])
ROLE_PERMISSIONS[AUDITOR].extend(_ENGAGEMENT_VIEW)

# Benefit catalogue and member day (BEN-1, BEN-3); member day settings write a points campaign.
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    "benefits.view_benefit", "benefits.add_benefit", "benefits.change_benefit", "benefits.delete_benefit",
    "benefits.view_tierbenefit", "benefits.add_tierbenefit", "benefits.change_tierbenefit",
    "benefits.delete_tierbenefit", "benefits.view_memberdayconfig", "benefits.change_memberdayconfig"])
ROLE_PERMISSIONS[AUDITOR].extend(["benefits.view_benefit", "benefits.view_tierbenefit", "benefits.view_memberdayconfig"])

# Desk postings, points claims and abuse flags (PTS-11): the desk posts and enters claims; a second person
# (operations) approves postings above the caps; customer service and operations review claims;
# operations review abuse flags and set their thresholds.
ROLE_PERMISSIONS[FRONT_DESK].append("points.add_pointsclaim")
ROLE_PERMISSIONS[CUSTOMER_SERVICE].extend(["points.add_pointsclaim", "points.review_pointsclaim"])
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    "points.approve_deskposting", "points.add_pointsclaim", "points.review_pointsclaim", "points.view_abusecase",
    "points.review_abusecase", "points.view_abuserules", "points.change_abuserules"])
ROLE_PERMISSIONS[AUDITOR].extend(["points.view_abusecase", "points.view_abuserules"])

# Member rights (issue 15): privacy policy versions, guardians' consents, the retention schedule and its
# purge register, the security-incident register and the member settings (review interval).
DATA_PROTECTION = "数据保护"
ROLE_PERMISSIONS[DATA_PROTECTION] = [
    "members.view_member", "members.view_consentlog", "members.view_guardianconsent", "members.view_store",
    "members.view_privacypolicy", "members.add_privacypolicy", "members.change_privacypolicy",
    "members.view_retentionrule", "members.add_retentionrule", "members.change_retentionrule",
    "members.view_retentionpurge",
    "members.view_securityincident", "members.add_securityincident", "members.change_securityincident",
    "core.view_auditlog", "core.view_jobrun",
]
ROLE_PERMISSIONS[AUDITOR].extend([
    "members.view_guardianconsent", "members.view_privacypolicy", "members.view_retentionrule",
    "members.view_retentionpurge", "members.view_securityincident", "members.view_membersettings",
])
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend(["members.view_membersettings", "members.change_membersettings",
                                             "members.view_privacypolicy", "members.view_guardianconsent"])
for _role in (FRONT_DESK, CUSTOMER_SERVICE):
    ROLE_PERMISSIONS[_role].extend(["members.view_guardianconsent", "members.add_guardianconsent",
                                    "members.view_privacypolicy"])

# Service desk depth for care and amenities (issue 15): event visits and their retries are recorded by the
# visit roles; desk and hotline staff enter interview answers and book on a member's behalf (seed 000
# 测评方式, 热线电话平台); operations assign dedicated account managers (专属客户经理) and edit the care settings.
for _role in (FRONT_DESK, CUSTOMER_SERVICE):
    ROLE_PERMISSIONS[_role].extend(["care.enter_survey_response", "care.view_survey", "care.view_visitattempt",
                                    "care.view_accountmanagerassignment", "amenities.book_for_member",
                                    "amenities.view_slot"])
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    "care.assign_account_manager", "care.view_accountmanagerassignment", "care.view_careconfig",
    "care.change_careconfig", "care.view_surveysample", "care.view_visitattempt", "care.enter_survey_response"])
ROLE_PERMISSIONS[AUDITOR].extend(["care.view_accountmanagerassignment", "care.view_careconfig",
                                  "care.view_surveysample", "care.view_visitattempt"])

# Service desk depth (issue 15, SD-7..9): after-sales cases, suggestion decisions, consultation and
# after-sales time limits, escalation contacts; the regional manager (区域经理) receives the second
# escalation level of the stores in their escalation contact and sees their complaints and cases.
REGIONAL_MANAGER = "区域经理"
_AFTER_SALES_VIEW = ["service_desk.view_aftersalescase", "service_desk.view_aftersalesevent",
                     "service_desk.view_aftersaleshandoff"]
ROLE_PERMISSIONS[REGIONAL_MANAGER] = [
    "members.view_store", "service_desk.view_complaint", "service_desk.view_complaintevent",
    "service_desk.view_escalation", "service_desk.view_compliance_report", "service_desk.receive_regional_escalation",
    "service_desk.handle_complaint", *_AFTER_SALES_VIEW, "service_desk.handle_aftersalescase",
    "service_desk.view_consultation",
]
ROLE_PERMISSIONS[FRONT_DESK].extend([*_AFTER_SALES_VIEW, "service_desk.add_aftersalescase"])
ROLE_PERMISSIONS[CUSTOMER_SERVICE].extend([
    *_AFTER_SALES_VIEW, "service_desk.add_aftersalescase", "service_desk.handle_aftersalescase",
    "service_desk.decide_suggestion"])
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([
    *_AFTER_SALES_VIEW, "service_desk.handle_aftersalescase", "service_desk.decide_suggestion",
    "service_desk.view_aftersalespolicy", "service_desk.change_aftersalespolicy",
    "service_desk.view_consultationtimelimit", "service_desk.change_consultationtimelimit",
    "service_desk.view_escalationcontact", "service_desk.add_escalationcontact",
    "service_desk.change_escalationcontact", "service_desk.delete_escalationcontact"])
ROLE_PERMISSIONS[AUDITOR].extend([*_AFTER_SALES_VIEW, "service_desk.view_aftersalespolicy",
                                  "service_desk.view_consultationtimelimit", "service_desk.view_escalationcontact"])

# Paid membership (issue 18): the desk sells, renews and refunds; operations also edit the plans. Listed
# here as well as in plans' migration 0002, so ensure_roles (and the test database's re-seed after a
# transactional test's flush) gives the roles the same permissions a migrated database has.
_PLANS_VIEW = ["plans.view_membershipplan", "plans.view_paidmembership", "plans.view_membershipevent"]
ROLE_PERMISSIONS[FRONT_DESK].extend([*_PLANS_VIEW, "plans.add_paidmembership", "plans.refund_paidmembership"])
ROLE_PERMISSIONS[CUSTOMER_SERVICE].extend(_PLANS_VIEW)
ROLE_PERMISSIONS[OPERATIONS_MANAGER].extend([*_PLANS_VIEW, "plans.add_membershipplan", "plans.change_membershipplan",
                                             "plans.add_paidmembership", "plans.refund_paidmembership"])
ROLE_PERMISSIONS[AUDITOR].extend(_PLANS_VIEW)
