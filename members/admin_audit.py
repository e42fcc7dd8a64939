"""Admin of the audit log (core.AuditLog): read-only and store-scoped, so it lives here rather than in
core, which sits below members and must not import its scope. Registered by members/admin.py."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter

from core.models import AuditLog

from . import scope
from .admin_base import ScopedReadOnlyAdmin


@admin.register(AuditLog)
class AuditLogAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("at", "actor_display", "action", "member", "field", "detail", "ip")
    list_filter = (("action", ChoicesDropdownFilter), ("at", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("actor_label", "=member__member_no", "field")
    list_select_related = ("member",)
    fields = ("at", "actor", "actor_label", "action", "member", "field", "detail", "ip")
    readonly_fields = fields

    def scope_queryset(self, request, qs):
        """Entries about members of the viewer's stores, and member-less ones (exports) by their staff."""
        ids = scope.store_ids(request.user)
        if ids is None:
            return qs
        return qs.filter(Q(member__home_store__in=ids) | Q(member__isnull=True, actor__staff_profile__store__in=ids))
