"""The admin bases every app's staff pages use: read-only records and store scope (MEM-9, SEC-3).

One copy, so an app cannot forget the scope (SEC-3 leak of issue 13: amenities' own copy had lost it).
A scoped admin declares `store_field`, the ORM path from its model to `members.Store`
("store", "home_store", "member__home_store", "slot__resource__store", or "pk" for Store itself);
its list, its change / history / delete pages (Django reaches those through `get_queryset`, so an
object of another store answers like a missing one) and its Store / Member choices all follow
`members.scope`. Chain-wide staff and superusers see every store."""
from __future__ import annotations

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from unfold.contrib.filters.admin import RelatedDropdownFilter

from core.admin import ReadOnlyAdmin

from . import scope
from .models import Member, Store

__all__ = ["ReadOnlyAdmin", "ScopedReadOnlyAdmin", "ScopedStoreFilter", "StoreScopedAdminMixin",
           "StoreScopedFKMixin", "store_path_resolves"]


def store_path_resolves(model: type[Model], path: str | None) -> bool:
    """True if `path` leads from `model` through relations to members.Store."""
    if not path:
        return False
    for part in path.split("__"):
        if part == "pk":
            part = model._meta.pk.name
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.is_relation:
            model = field.related_model
        elif part != model._meta.pk.name:
            return False
    return model is Store


class ScopedStoreFilter(RelatedDropdownFilter):
    """A store filter that lists only the stores in the viewer's scope."""

    def field_choices(self, field, request, model_admin):
        return [(s.pk, str(s)) for s in scope.stores_for(request.user)]


class StoreScopedFKMixin:
    """Foreign keys (and many-to-many fields) to Store offer only the stores the staff member may act
    in; foreign keys to Member only the members of those stores."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Store:
            kwargs["queryset"] = scope.stores_for(request.user)
        elif db_field.related_model is Member:
            kwargs["queryset"] = scope.filter_by_store(request.user, Member.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is Store:
            kwargs["queryset"] = scope.stores_for(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class StoreScopedAdminMixin(StoreScopedFKMixin):
    """Rows limited to the viewer's stores through `store_field` (see the module docstring)."""

    store_field: str | None = None

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def scope_queryset(self, request, qs: QuerySet) -> QuerySet:
        """The store rule; an admin whose rule has an extra branch (own rows, member-less rows) widens it here."""
        return scope.filter_by_store(request.user, qs, self.store_field)

    def get_list_filter(self, request):
        """A plain "store" filter would list every store of the chain; offer only the viewer's."""
        scoped = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and self._is_store_fk(item):
                item = (item, ScopedStoreFilter)
            scoped.append(item)
        return scoped

    def _is_store_fk(self, name: str) -> bool:
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        return field.many_to_one and field.related_model is Store

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not store_path_resolves(self.model, self.store_field):
            errors.append(checks.Error(
                f"{type(self).__name__}.store_field={self.store_field!r} does not lead from "
                f"{self.model._meta.label} to members.Store.",
                obj=type(self), id="members.E001"))
        return errors


class ScopedReadOnlyAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    """Read-only records limited to the viewer's stores."""
