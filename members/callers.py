"""What an API caller acts on: the member it names and the store it acts for (SEC-3).

A till (core.api.device_of) acts for its own store and may look up any member whose membership exists;
staff act within their store scope (members.scope) and need the operation's permission. Every app's
API resolves both through these two functions."""
from __future__ import annotations

from django.utils.translation import gettext as _

from core.api import device_of
from core.errors import NotFound, ValidationFailed

from . import scope, selectors
from .models import Member, Store


def member_for_caller(request, member_no: str) -> Member:
    if device_of(request) is not None:
        member = selectors.member_list_for_till().filter(member_no=member_no).first()
        if member is None:
            raise NotFound(_("No such member."))
        return member
    return selectors.member_get_for_staff(request.user, member_no)


def caller_store(request, store_code: str | None, perm: str) -> Store:
    """A till acts for its own store; staff need `perm` and a store within their scope."""
    device = device_of(request)
    if device is not None:
        if store_code and store_code != device.store.code:
            raise ValidationFailed(_("A till acts for its own store."), fields={"store": [_("Not this till's store.")]})
        return device.store
    scope.require_perm(request.user, perm)
    store = Store.objects.filter(code=store_code).first() if store_code else scope.staff_store(request.user)
    if store is None:
        raise ValidationFailed(_("Name the store."), fields={"store": [_("Unknown store.")]})
    scope.require_store(request.user, store)
    return store
