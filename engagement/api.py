"""Partner verification API (BEN-6): `POST /api/v1/partners/verify/` with
`Authorization: Partner <key>`. A partner sees only codes of its own offers: others answer 404
like missing ones; a second use answers 409 (code "code_used")."""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Partner
from .services import partner_by_key, redemption_code_verify


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Partner"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="ignore").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Partner authorization header.")
        partner = partner_by_key(header[1])
        if partner is None:
            raise exceptions.AuthenticationFailed("Unknown or inactive partner key.")
        return (None, partner)

    def authenticate_header(self, request):
        return self.keyword


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "engagement.api.PartnerKeyAuthentication"
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Partner <key>` issued per alliance partner in the admin."}


class IsPartner(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Partner)


class PartnerCodeVerifyApi(APIView):
    authentication_classes = [PartnerKeyAuthentication]
    permission_classes = [IsPartner]

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=32)

        class Meta:
            ref_name = "PartnerCodeVerifyInput"

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PartnerCodeVerifyOutput"

        code = serializers.CharField()
        status = serializers.CharField()
        used_at = serializers.DateTimeField()
        offer = serializers.CharField(source="offer.title")
        member_name = serializers.SerializerMethodField()
        member_tier = serializers.CharField(source="member.tier.name")

        def get_member_name(self, obj) -> str:
            # Only the surname: enough for the partner's counter, no more personal data.
            return (obj.member.name[:1] + "**") if obj.member.name else ""

    @extend_schema(tags=["partners"], request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rc = redemption_code_verify(partner=request.auth, code=data.validated_data["code"])
        return Response(self.OutputSerializer(rc).data)
