"""memberhub.urls plus two probe pages that raise a domain error, for tests/core/test_web.py."""
from django.urls import path

from core.errors import Conflict, NotFound
from core.web import member_required, permission_required, staff_required
from memberhub.urls import handler403, handler404, handler500  # noqa: F401
from memberhub.urls import urlpatterns as base


def _raise(request):
    if request.GET.get("kind") == "missing":
        raise NotFound("没有这位会员。")
    raise Conflict("该订单已退款，不能再次退款。", code="already_refunded")


desk_probe = staff_required(_raise)
portal_probe = member_required(_raise)
perm_probe = staff_required(permission_required("points.approve_adjustment")(_raise))

urlpatterns = [
    path("desk/probe/", desk_probe),
    path("desk/probe-perm/", perm_probe),
    path("portal/probe/", portal_probe),
    *base,
]
