"""Placeholder replaced by the API work."""
from rest_framework.views import APIView


class MemberLookupApi(APIView):
    pass
