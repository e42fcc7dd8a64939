"""WeChat bindings in the admin: read-only (binding and unbinding go through wechat.services, audited),
limited to the viewer's stores through the member's home store."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from members.admin_base import ScopedReadOnlyAdmin

from .models import WechatBinding


@admin.register(WechatBinding)
class WechatBindingAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["member", "app_id", "openid_shown", "bound_at", "unbound_at", "unbound_via"]
    list_filter = ["app_id", "unbound_via"]
    search_fields = ["member__member_no"]
    list_select_related = ["member"]

    @admin.display(description=_("openid"))
    def openid_shown(self, obj):
        return obj.openid_masked
