"""WeChat bindings in the admin: read-only (binding and unbinding go through wechat.services, audited)."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from .models import WechatBinding


@admin.register(WechatBinding)
class WechatBindingAdmin(ModelAdmin):
    list_display = ["member", "app_id", "openid_shown", "bound_at", "unbound_at", "unbound_via"]
    list_filter = ["app_id", "unbound_via"]
    search_fields = ["member__member_no"]
    readonly_fields = [f.name for f in WechatBinding._meta.fields]
    list_select_related = ["member"]

    @admin.display(description=_("openid"))
    def openid_shown(self, obj):
        return obj.openid_masked

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
