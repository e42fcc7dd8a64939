"""Output shapes of members shared by the API views (and by other apps' APIs that embed a member).

Every shape here is masked (SEC-2): it reads the `*_masked` copies, never `*_enc` or `*_hash`.
Two audiences:
- `MemberSummarySerializer` — what a till needs to serve a customer: number, masked name and
  mobile, tier, status and whether the member may earn/redeem now (`can_transact`);
- `MemberDetailSerializer` — what staff of the member's store see at the desk: the profile with
  mobile, ID number, address and e-mail masked. The full values only come from `member_reveal`
  (audit-logged), never from the API.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import crypto

from .models import Member, MemberChange
from .services import member_can_transact


def mask_email(value: str | None) -> str:
    """zhang.san@example.com -> z****@example.com."""
    if not value:
        return ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}****@{domain}" if domain else crypto.mask_text(value, keep=1)


class TierRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "TierRef"


class StoreRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "StoreRef"


class MemberSummarySerializer(serializers.Serializer):
    """What a till sees of a member (any store of the chain): masked and minimal."""

    member_no = serializers.CharField()
    name = serializers.SerializerMethodField(help_text="Masked: 张*")
    mobile = serializers.CharField(source="mobile_masked", help_text="Masked: 138****5678")
    tier = TierRefSerializer()
    status = serializers.ChoiceField(choices=Member.Status.choices)
    can_transact = serializers.SerializerMethodField(
        help_text="True when the member may earn and redeem points and use benefits now (MEM-5)."
    )

    class Meta:
        ref_name = "MemberSummary"

    def get_name(self, member: Member) -> str:
        return crypto.mask_name(member.name)

    def get_can_transact(self, member: Member) -> bool:
        return member_can_transact(member)


class CorporateOutSerializer(serializers.Serializer):
    company_name = serializers.CharField()
    credit_code = serializers.CharField()
    contact_person = serializers.CharField()

    class Meta:
        ref_name = "CorporateProfileOut"


class MemberDetailSerializer(serializers.Serializer):
    """What staff of the member's store see. Name and birthday are shown (the desk greets the member
    and grants birthday offers); mobile, ID number, address and e-mail are masked."""

    member_no = serializers.CharField()
    kind = serializers.ChoiceField(choices=Member.Kind.choices)
    status = serializers.ChoiceField(choices=Member.Status.choices)
    status_reason = serializers.CharField()
    can_transact = serializers.SerializerMethodField()
    name = serializers.CharField()
    gender = serializers.ChoiceField(choices=Member.Gender.choices)
    birthday = serializers.DateField(allow_null=True)
    mobile = serializers.CharField(source="mobile_masked", help_text="Masked: 138****5678")
    id_number = serializers.CharField(source="id_number_masked", help_text="Masked: 1101**********1234")
    province = serializers.CharField()
    city = serializers.CharField()
    district = serializers.CharField()
    address = serializers.CharField(source="address_masked", help_text="Masked: head kept, rest ****")
    occupation = serializers.CharField()
    email = serializers.SerializerMethodField(help_text="Masked: z****@example.com")
    tier = TierRefSerializer()
    home_store = StoreRefSerializer()
    channel = serializers.ChoiceField(choices=Member.Channel.choices)
    marketing_consent = serializers.BooleanField()
    privacy_version = serializers.CharField()
    corporate = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "MemberDetail"

    def get_can_transact(self, member: Member) -> bool:
        return member_can_transact(member)

    def get_email(self, member: Member) -> str:
        return mask_email(member.email)

    @extend_schema_field(CorporateOutSerializer(allow_null=True))
    def get_corporate(self, member: Member):
        if member.kind != Member.Kind.CORPORATE:
            return None
        profile = getattr(member, "corporate", None)
        return CorporateOutSerializer(profile).data if profile else None


class MemberChangeSerializer(serializers.ModelSerializer):
    """One line of the change history; values were masked when the line was written."""

    class Meta:
        model = MemberChange
        ref_name = "MemberChange"
        fields = ["id", "at", "field", "old_value", "new_value", "actor_label", "channel", "change_request"]
