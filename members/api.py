"""REST API of members for tills and staff apps (MEM-1..6, SEC-2/3), under /api/v1/.

Who may see what (SEC-3):
- a **till** (``Authorization: Device <token>``; ``request.auth`` is the Device, bound to one store)
  may look up any member of the chain — members shop in every store — but only members whose
  membership exists (active, suspended, disqualified; not pending, rejected or closed), and it gets
  only the masked summary a till needs (`MemberSummarySerializer`). It registers customers with an
  SMS code and records marketing consent; it cannot read profiles, history or request changes.
- **staff** (session) see and act on their own store's members only (chain-wide staff on all),
  through members.scope / members.selectors; a member of another store answers 404, like a missing
  one, so numbers cannot be probed. Each action also needs the role's permission.

Every write goes through members.services; domain errors become {"code", "detail", "fields"} via
core.api.exception_handler.
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import crypto
from core.api import CallerRateThrottle, IsDevice, IsStaffUser, api_errors, device_of
from core.errors import ValidationFailed
from core.web import client_ip

from . import scope, selectors
from .callers import member_for_caller
from .models import ConsentLog, GuardianConsent, Member, MemberChange, SmsCode
from .serializers import MemberChangeSerializer, MemberDetailSerializer, MemberSummarySerializer
from .services import (
    PERM_CONSENT,
    Actor,
    change_request_submit,
    consent_set_marketing,
    member_register_desk,
    member_register_till,
)
from .sms_codes import sms_code_send
from .validation import normalize_mobile

TAGS = ["members"]

# Statuses a till can see: the membership exists, `can_transact` tells whether it may be used now.


# ---------------------------------------------------------------- callers


class MemberLookupThrottle(CallerRateThrottle):
    """A busy till scans a card every few seconds; 120 a minute leaves headroom for that and
    stops a stolen token from enumerating the member base quickly."""

    scope = "member_lookup"
    default_rate = "120/min"


class SmsCodeThrottle(CallerRateThrottle):
    """Per device on top of the per-number / per-IP limits of sms_code_send."""

    scope = "sms_code"
    default_rate = "30/hour"


class ConsentThrottle(CallerRateThrottle):
    scope = "member_consent"
    default_rate = "60/min"


# ---------------------------------------------------------------- schema helpers


SUMMARY_EXAMPLE = OpenApiExample(
    "Member summary",
    value={"member_no": "860000000125", "name": "张*", "mobile": "138****5678",
           "tier": {"code": "normal", "name": "普通"}, "status": "active", "can_transact": True},
    response_only=True,
)
NOT_FOUND_EXAMPLE = OpenApiExample(
    "Not found", value={"code": "not_found", "detail": "No such member."}, response_only=True, status_codes=["404"],
)
FIELD_ERROR_EXAMPLE = OpenApiExample(
    "Field error",
    value={"code": "invalid", "detail": "Please correct the marked fields.",
           "fields": {"mobile": ["Enter a valid mainland China mobile number (11 digits starting with 1)."]}},
    response_only=True, status_codes=["400"],
)


# ---------------------------------------------------------------- lookup


class MemberLookupApi(APIView):
    """Find a member by mobile, card (member number) or the e-card QR payload."""

    throttle_classes = [MemberLookupThrottle]
    permission_classes = [IsDevice | IsStaffUser]

    class InputSerializer(serializers.Serializer):
        mobile = serializers.CharField(required=False, help_text="Mainland mobile number, e.g. 13812345678")
        card = serializers.CharField(required=False, max_length=20, help_text="Member / card number")
        qr = serializers.CharField(required=False, max_length=200, help_text="Payload read from the e-card QR")

        class Meta:
            ref_name = "MemberLookupInput"

        def validate(self, attrs):
            given = [k for k in ("mobile", "card", "qr") if attrs.get(k, "").strip()]
            if len(given) != 1:
                message = _("Give exactly one of mobile, card or qr.")
                raise ValidationFailed(message, fields={k: [message] for k in (given or ["mobile", "card", "qr"])})
            return {given[0]: attrs[given[0]].strip()}

    @extend_schema(
        tags=TAGS,
        operation_id="members_lookup",
        summary="Look up a member (till or staff)",
        description=(
            "Exactly one of `mobile`, `card` or `qr`. A till sees any member of the chain whose membership "
            "exists (active, suspended, disqualified) as a masked summary; staff see their own store's members. "
            "An expired or forged QR answers 400 `bad_qr`. Rate-limited per device."
        ),
        parameters=[InputSerializer],
        responses={200: MemberSummarySerializer, **api_errors(400, 401, 403, 404, 429)},
        examples=[
            SUMMARY_EXAMPLE, NOT_FOUND_EXAMPLE,
            OpenApiExample("Bad QR", value={"code": "bad_qr", "detail": "This QR code has expired or is not valid.",
                                            "fields": {"qr": ["Ask the member to refresh the e-card."]}},
                           response_only=True, status_codes=["400"]),
        ],
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        key, value = next(iter(params.validated_data.items()))
        if device_of(request) is not None:
            qs = selectors.member_list_for_till()
        else:
            qs = selectors.member_list_for_staff(request.user)
        member = selectors.member_by_reference(qs, **{key: value})
        return Response(MemberSummarySerializer(member).data)


# ---------------------------------------------------------------- SMS codes


class SmsCodeSendApi(APIView):
    """A till asks for a code to the customer's phone; the customer reads it back to sign up."""

    permission_classes = [IsDevice]
    throttle_classes = [SmsCodeThrottle]

    class InputSerializer(serializers.Serializer):
        mobile = serializers.CharField(help_text="Mainland mobile number")
        purpose = serializers.ChoiceField(choices=[SmsCode.Purpose.TILL], help_text="Only `till` for devices.")

        class Meta:
            ref_name = "SmsCodeSendInput"

    class OutputSerializer(serializers.Serializer):
        mobile = serializers.CharField(help_text="Masked")
        expires_at = serializers.DateTimeField()

        class Meta:
            ref_name = "SmsCodeSent"

    @extend_schema(
        tags=TAGS,
        operation_id="sms_codes_send",
        summary="Send a sign-up code to a customer's phone (till)",
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            **api_errors(400, 401, 403, 429),
        },
        examples=[
            OpenApiExample("Request", value={"mobile": "13812345678", "purpose": "till"}, request_only=True),
            OpenApiExample("Too soon", value={"code": "too_soon",
                                              "detail": "A code was just sent; please wait a minute before asking again."},
                           response_only=True, status_codes=["429"]),
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Tills of a store share one public IP: the per-device throttle stands in for the per-IP limit.
        code = sms_code_send(mobile=data.validated_data["mobile"], purpose=data.validated_data["purpose"], ip=None)
        mobile = normalize_mobile(data.validated_data["mobile"])
        return Response(
            self.OutputSerializer({"mobile": crypto.mask_mobile(mobile), "expires_at": code.expires_at}).data,
            status=status.HTTP_202_ACCEPTED,
        )


# ---------------------------------------------------------------- create


class MemberProfileFieldsMixin(serializers.Serializer):
    """Profile fields as typed input; the format and completeness rules live in members.validation."""

    name = serializers.CharField(max_length=50, help_text="Full name")
    mobile = serializers.CharField(help_text="Mainland mobile number")
    gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False)
    birthday = serializers.DateField(required=False, allow_null=True)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    province = serializers.CharField(required=False, allow_blank=True, max_length=20)
    city = serializers.CharField(required=False, allow_blank=True, max_length=20)
    district = serializers.CharField(required=False, allow_blank=True, max_length=20)
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    occupation = serializers.CharField(required=False, allow_blank=True, max_length=50)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=18,
                                      help_text="Optional 18-digit resident ID number (checksum validated)")


class CorporateInputSerializer(serializers.Serializer):
    company_name = serializers.CharField(max_length=100)
    credit_code = serializers.CharField(max_length=18, help_text="Unified social credit code (18 characters)")
    contact_person = serializers.CharField(max_length=50)

    class Meta:
        ref_name = "CorporateProfileIn"


class GuardianInputSerializer(serializers.Serializer):
    guardian_name = serializers.CharField(max_length=50)
    guardian_relation = serializers.CharField(max_length=20, help_text="e.g. 父亲, 母亲")
    guardian_mobile = serializers.CharField(max_length=20)
    guardian_verified_how = serializers.ChoiceField(choices=GuardianConsent.Verification.choices)

    class Meta:
        ref_name = "GuardianConsentIn"


PROFILE_KEYS = ("name", "mobile", "gender", "birthday", "email", "province", "city", "district", "address",
                "occupation", "id_number")


class MemberCreateApi(APIView):
    """Register a member: at a till (SMS-verified, active at once) or at the desk (pending review)."""

    permission_classes = [IsDevice | IsStaffUser]

    class InputSerializer(MemberProfileFieldsMixin):
        marketing_consent = serializers.BooleanField(default=False)
        privacy_accepted = serializers.BooleanField(help_text="Must be true: the privacy policy was accepted.")
        sms_code = serializers.CharField(required=False, max_length=6,
                                         help_text="Tills only: the code the customer received.")
        corporate = CorporateInputSerializer(required=False, help_text="Staff only: a corporate member (企业会员).")
        store = serializers.CharField(required=False, max_length=16,
                                      help_text="Staff only, chain-wide accounts: the home store code.")
        id_number_consent = serializers.BooleanField(
            default=False, help_text="The member's separate consent to store the ID number (PIPL art. 29); "
                                     "required when `id_number` is given.")
        guardian = GuardianInputSerializer(
            required=False, help_text="Staff only: the guardian's consent for a member under 14 (PIPL art. 31).")

        class Meta:
            ref_name = "MemberCreateInput"

        def validate_privacy_accepted(self, value):
            # Checked here too so a till does not spend the customer's SMS code on a refused sign-up.
            if not value:
                raise serializers.ValidationError(_("Please read and accept the privacy policy."))
            return value

    @extend_schema(
        tags=TAGS,
        operation_id="members_create",
        summary="Register a member (till: SMS code, active; staff: pending review)",
        description=(
            "From a till: `sms_code` is required (send one with `POST /api/v1/sms-codes/`), the member is active "
            "at once and the answer is the masked summary. From staff (permission `members.add_member`): the "
            "sign-up waits for a second staff member's review (status `pending`); `corporate` registers a "
            "corporate member. A mobile or ID number already registered answers 400 `duplicate`."
        ),
        request=InputSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="MemberCreated",
                serializers=[MemberSummarySerializer, MemberDetailSerializer],
                resource_type_field_name=None,
            ),
            **api_errors(400, 401, 403, 429),
        },
        examples=[
            OpenApiExample(
                "Till sign-up",
                value={"name": "张三", "mobile": "13812345678", "gender": "M", "birthday": "1990-03-07",
                       "marketing_consent": False, "privacy_accepted": True, "sms_code": "123456"},
                request_only=True,
            ),
            OpenApiExample(
                "Duplicate", value={"code": "duplicate", "detail": "Already registered.",
                                    "fields": {"mobile": ["This mobile number is already registered to a member."]}},
                response_only=True, status_codes=["400"],
            ),
            FIELD_ERROR_EXAMPLE,
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        profile = {k: values[k] for k in PROFILE_KEYS if k in values}
        device = device_of(request)
        if device is not None:
            refused = [k for k in ("corporate", "store") if k in values]
            if refused:
                raise ValidationFailed(_("Tills register personal members in their own store."),
                                       fields={k: [_("Not accepted from a till.")] for k in refused})
            if not values.get("sms_code"):
                raise ValidationFailed(_("Enter the code sent to the customer's phone."),
                                       fields={"sms_code": [_("Required.")]})
            member = member_register_till(
                data=profile, sms_code=values["sms_code"], store=device.store, device_label=str(device),
                marketing=values["marketing_consent"], privacy_accepted=values["privacy_accepted"],
                id_number_consent=values["id_number_consent"],
            )
            member = selectors.member_list_for_till().get(pk=member.pk)
            return Response(MemberSummarySerializer(member).data, status=status.HTTP_201_CREATED)

        scope.require_perm(request.user, "members.add_member")
        store = None
        if values.get("store"):
            store = scope.stores_for(request.user).filter(code=values["store"]).first()
            if store is None:
                raise ValidationFailed(_("Unknown store."), fields={"store": [_("No such store in your scope.")]})
        member = member_register_desk(
            data=profile, staff=request.user, store=store, marketing=values["marketing_consent"],
            privacy_accepted=values["privacy_accepted"], corporate=values.get("corporate"),
            id_number_consent=values["id_number_consent"], guardian=values.get("guardian"),
        )
        member = selectors.member_get_for_staff(request.user, member.member_no)
        return Response(MemberDetailSerializer(member).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- detail and change request


class MemberDetailApi(APIView):
    """Staff: read a member of their store (masked); propose a change (MEM-4)."""

    permission_classes = [IsStaffUser]

    class ChangeInputSerializer(serializers.Serializer):
        name = serializers.CharField(required=False, max_length=50)
        mobile = serializers.CharField(required=False)
        gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False)
        birthday = serializers.DateField(required=False, allow_null=True)
        email = serializers.CharField(required=False, allow_blank=True, max_length=254)
        province = serializers.CharField(required=False, allow_blank=True, max_length=20)
        city = serializers.CharField(required=False, allow_blank=True, max_length=20)
        district = serializers.CharField(required=False, allow_blank=True, max_length=20)
        address = serializers.CharField(required=False, allow_blank=True, max_length=200)
        occupation = serializers.CharField(required=False, allow_blank=True, max_length=50)
        id_number = serializers.CharField(required=False, allow_blank=True, max_length=18)
        sms_code = serializers.CharField(required=False, max_length=6,
                                         help_text="Required with `mobile`: the code sent to the new number (the desk "
                                                   "member page's 'send a code' button), read out by the member.")
        id_number_consent = serializers.BooleanField(
            required=False, help_text="The member's separate consent to store the new ID number.")

        class Meta:
            ref_name = "MemberChangeRequestInput"

    class ChangeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        # A plain string, not an enum: a second enum named `status` collides with Member.Status in the
        # schema until SPECTACULAR_SETTINGS gets ENUM_NAME_OVERRIDES.
        status = serializers.CharField(help_text="pending, approved, rejected or withdrawn")
        summary = serializers.CharField(help_text="Fields and masked new values")
        requested_at = serializers.DateTimeField()

        class Meta:
            ref_name = "ChangeRequestOut"

    @extend_schema(
        tags=TAGS,
        operation_id="members_retrieve",
        summary="Member detail (staff, own store, masked)",
        responses={200: MemberDetailSerializer, **api_errors(401, 403, 404)},
        examples=[NOT_FOUND_EXAMPLE],
    )
    def get(self, request, member_no: str):
        scope.require_perm(request.user, "members.view_member")
        member = selectors.member_get_for_staff(request.user, member_no)
        return Response(MemberDetailSerializer(member).data)

    @extend_schema(
        tags=TAGS,
        operation_id="members_change_request",
        summary="Request a change of personal data (staff; reviewed by a second staff member)",
        description=(
            "Creates a change request (变更申请, MEM-4) with the given fields; nothing changes until a second "
            "staff member approves it. 409 `pending_exists` when one is already waiting for review."
        ),
        request=ChangeInputSerializer,
        responses={202: ChangeOutputSerializer, **api_errors(400, 401, 403, 404, 409)},
        examples=[
            OpenApiExample("Request", value={"mobile": "13912345678", "city": "杭州市"}, request_only=True),
            OpenApiExample("Accepted", value={"id": 42, "status": "pending", "summary": "mobile: 139****5678; city: 杭州市",
                                              "requested_at": "2026-11-02T10:15:00+08:00"},
                           response_only=True, status_codes=["202"]),
            OpenApiExample("Pending exists", value={"code": "pending_exists", "detail":
                                                    "A change request for this member is already waiting for review."},
                           response_only=True, status_codes=["409"]),
        ],
    )
    def patch(self, request, member_no: str):
        scope.require_perm(request.user, "members.add_changerequest")
        member = selectors.member_get_for_staff(request.user, member_no)
        data = self.ChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unknown = sorted(set(request.data) - set(self.ChangeInputSerializer().fields))
        if unknown:
            raise ValidationFailed(_("These fields cannot be changed."),
                                   fields={k: [_("Not changeable.")] for k in unknown})
        changes = dict(data.validated_data)
        mobile_code = changes.pop("sms_code", "")
        id_number_consent = changes.pop("id_number_consent", False)
        if not changes:
            raise ValidationFailed(_("Nothing would change."), code="no_change")
        change = change_request_submit(
            member=member, changes=changes, actor=Actor.staff(request.user, client_ip(request)),
            mobile_code=mobile_code, id_number_consent=id_number_consent,
        )
        return Response(self.ChangeOutputSerializer(change).data, status=status.HTTP_202_ACCEPTED)


# ---------------------------------------------------------------- consent


class MemberConsentApi(APIView):
    """Marketing consent (MEM-6) at the desk (staff) or at a till (the customer present)."""

    permission_classes = [IsDevice | IsStaffUser]
    throttle_classes = [ConsentThrottle]

    class InputSerializer(serializers.Serializer):
        marketing = serializers.BooleanField(help_text="true: opt in to marketing messages; false: withdraw")

        class Meta:
            ref_name = "MemberConsentInput"

    class OutputSerializer(serializers.Serializer):
        member_no = serializers.CharField()
        marketing_consent = serializers.BooleanField()

        class Meta:
            ref_name = "MemberConsentOut"

    @extend_schema(
        tags=TAGS,
        operation_id="members_consents_set",
        summary="Opt in to or withdraw marketing consent (staff: desk; till: till)",
        description="Logged with time and channel every time it changes; setting the current value changes nothing.",
        request=InputSerializer,
        responses={200: OutputSerializer, **api_errors(400, 401, 403, 404, 429)},
        examples=[OpenApiExample("Withdraw", value={"marketing": False}, request_only=True)],
    )
    def post(self, request, member_no: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        granted = data.validated_data["marketing"]
        if device_of(request) is not None:
            member = member_for_caller(request, member_no)
            member = consent_set_marketing(member=member, granted=granted, channel=ConsentLog.Channel.TILL)
        else:
            scope.require_perm(request.user, PERM_CONSENT)  # the same permission as the desk page
            member = member_for_caller(request, member_no)
            member = consent_set_marketing(member=member, granted=granted, channel=ConsentLog.Channel.DESK,
                                           actor_user=request.user)
        return Response(self.OutputSerializer(member).data)


# ---------------------------------------------------------------- history


class MemberChangeListApi(generics.ListAPIView):
    """Change history of a member (MEM-4): who, when, old -> new, masked where sensitive."""

    permission_classes = [IsStaffUser]
    serializer_class = MemberChangeSerializer
    queryset = MemberChange.objects.none()  # the real one is scoped in get_queryset

    def get_queryset(self):
        scope.require_perm(self.request.user, "members.view_memberchange")
        member = selectors.member_get_for_staff(self.request.user, self.kwargs["member_no"])
        return member.changes.order_by("-at", "-id")

    @extend_schema(
        tags=TAGS,
        operation_id="members_changes_list",
        summary="Change history of a member (staff, own store)",
        responses={200: MemberChangeSerializer(many=True), **api_errors(401, 403, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

