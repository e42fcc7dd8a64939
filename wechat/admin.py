"""WeChat bindings in the admin: read-only (binding and unbinding go through wechat.services, audited)."""
from django.contrib import admin
from unfold.admin import ModelAdmin

from .models import WechatBinding


@admin.register(WechatBinding)
class WechatBindingAdmin(ModelAdmin):
    list_display = ["member", "app_id", "openid_masked", "bound_at", "unbound_at", "unbound_via"]
    list_filter = ["app_id", "unbound_via"]
    search_fields = ["member__member_no"]
    readonly_fields = [f.name for f in WechatBinding._meta.fields]
    list_select_related = ["member"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
