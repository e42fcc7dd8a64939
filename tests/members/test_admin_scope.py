"""One read-only admin base with store scope (issue 12; SEC-3 leak of issue 13): every admin of a model
that belongs to a store is scoped, and a store's front desk cannot read another store's parking uses,
loans, bookings, events or registrations in /admin/."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from amenities.models import Booking, Loan, ParkingUse, Resource, Slot
from engagement.models import Event, Registration
from members import roles
from members.admin_base import StoreScopedAdminMixin, store_path_resolves
from members.models import Member, Store
from service_desk.models import StaffNotice
from tests.factories import MemberFactory, StoreFactory, make_staff

# Models that lead to a store but whose admin is deliberately not store-scoped. Chain-wide reference
# data (tiers, tags, benefit and gift catalogues, policies, templates) has no foreign key towards a
# store or member, so it never enters the check and needs no entry here.
NOT_STORE_SCOPED = {
    StaffNotice: "a staff member's own notices: filtered by the recipient (request.user), not by store",
}


def _path_to_store(model, depth: int = 3) -> str | None:
    """A forward FK / one-to-one path from `model` to Store or Member (which has its home store), if any."""
    frontier = [(model, "")]
    for _ in range(depth):
        step = []
        for current, path in frontier:
            for field in current._meta.get_fields():
                if not (field.concrete and (field.many_to_one or field.one_to_one)):
                    continue
                here = f"{path}{field.name}"
                if field.related_model in (Store, Member):
                    return here
                step.append((field.related_model, f"{here}__"))
        frontier = step
    return None


def test_every_admin_of_a_store_owned_model_is_store_scoped():
    unscoped = []
    for model, model_admin in admin.site._registry.items():
        if model in NOT_STORE_SCOPED or model is Store:
            continue
        path = _path_to_store(model)
        if path and not isinstance(model_admin, StoreScopedAdminMixin):
            unscoped.append(f"{model._meta.label} (via {path}) -> {type(model_admin).__name__}")
    assert unscoped == [], "declare store_field on these admins (members.admin_base):\n" + "\n".join(unscoped)


def test_every_store_field_leads_to_a_store():
    scoped = {m: a for m, a in admin.site._registry.items() if isinstance(a, StoreScopedAdminMixin)}
    assert Store in scoped and Member in scoped and Loan in scoped and Event in scoped
    wrong = [f"{m._meta.label}: {a.store_field!r}" for m, a in scoped.items()
             if not store_path_resolves(m, a.store_field)]
    assert wrong == []
    assert all(a.check() == [] for a in scoped.values())


def test_a_store_field_that_leads_nowhere_fails_the_admin_check():
    class Broken(StoreScopedAdminMixin, admin.ModelAdmin):
        store_field = "slot__resource"  # stops at Resource

    errors = Broken(Booking, admin.site).check()
    assert [e.id for e in errors] == ["members.E001"]
    assert not store_path_resolves(Booking, None)
    assert store_path_resolves(Booking, "slot__resource__store")
    assert store_path_resolves(Store, "pk")


def test_core_admin_does_not_import_members():
    """Layers: core < members. The audit log's scoped admin lives in members (members/admin_audit.py)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "core" / "admin.py").read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.split(".")[0] == "members" for m in modules)
    from core.models import AuditLog
    assert isinstance(admin.site._registry[AuditLog], StoreScopedAdminMixin)


# ---------------------------------------------------------------- through the client


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _change(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _records(store, marker: str) -> dict:
    """One of each amenities / engagement record at `store`, its texts tagged with `marker`."""
    member = MemberFactory(home_store=store)
    now = timezone.now()
    resource = Resource.objects.create(store=store, kind=Resource.Kind.PERSONAL_SHOPPER, name=f"顾问{marker}")
    slot = Slot.objects.create(resource=resource, starts_at=now + dt.timedelta(days=1),
                               ends_at=now + dt.timedelta(days=1, hours=1))
    event = Event.objects.create(title=f"沙龙{marker}", store=store, starts_at=now + dt.timedelta(days=2),
                                 ends_at=now + dt.timedelta(days=2, hours=2), capacity=10, guest_allowance=1)
    return {
        ParkingUse: ParkingUse.objects.create(member=member, store=store, plate_number=f"沪A{marker}", hours=1,
                                              used_on=now.date()),
        Loan: Loan.objects.create(member=member, store=store, item_kind=Loan.ItemKind.UMBRELLA,
                                  item_number=f"U-{marker}", lent_at=now, due_at=now + dt.timedelta(hours=24)),
        Booking: Booking.objects.create(slot=slot, member=member),
        Resource: resource,
        Event: event,
        Registration: Registration.objects.create(event=event, member=member),
    }


@pytest.fixture
def two_stores(db):
    home, other = StoreFactory(), StoreFactory()
    return home, other, _records(home, "11111"), _records(other, "22222")


# Front desk reads parking uses, loans, bookings and events; registrations are read by the auditor
# role (the front desk has no permission for them), bound to a store in the same way.
PAGES = [(roles.FRONT_DESK, ParkingUse), (roles.FRONT_DESK, Loan), (roles.FRONT_DESK, Booking),
         (roles.FRONT_DESK, Event), (roles.AUDITOR, Registration), (roles.AUDITOR, ParkingUse)]


@pytest.mark.parametrize(("role", "model"), PAGES, ids=[f"{m._meta.model_name}-{r}" for r, m in PAGES])
def test_store_staff_see_only_their_stores_rows_in_the_admin(client, two_stores, role, model):
    """SEC-3: the changelist lists the home store's row only, without the other store's plate / item /
    title (nor the other store in the store filter); the other store's change page is out of reach."""
    home, other, mine, theirs = two_stores
    client.force_login(make_staff(role, store=home))

    response = client.get(_changelist(model))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine[model]]
    body = response.content.decode()
    assert "22222" not in body and other.name not in body

    assert client.get(_change(mine[model])).status_code == 200
    assert client.get(_change(theirs[model])).status_code in (302, 404)
    history = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[theirs[model].pk])
    assert client.get(history).status_code in (302, 404)


def test_chain_wide_staff_see_every_store(client, two_stores):
    _, _, mine, theirs = two_stores
    client.force_login(make_staff(roles.FRONT_DESK, chain_wide=True))
    for model in (ParkingUse, Loan, Booking, Event):
        response = client.get(_changelist(model))
        assert set(response.context["cl"].result_list) == {mine[model], theirs[model]}, model


def test_amenity_records_stay_read_only(client, two_stores):
    home, _, mine, _ = two_stores
    client.force_login(make_staff(roles.FRONT_DESK, store=home))  # holds amenities.change_loan for the desk
    loan = mine[Loan]
    assert client.post(_change(loan), {"item_number": "X"}).status_code == 403
    assert client.get(reverse("admin:amenities_loan_add")).status_code == 403
    assert client.post(reverse("admin:amenities_loan_delete", args=[loan.pk]), {"post": "yes"}).status_code == 403


def test_store_choices_on_scoped_forms_are_the_viewers_stores(client, two_stores):
    """A store-bound operations manager can create resources and events only in their store."""
    home, other, _, _ = two_stores
    manager = make_staff(roles.OPERATIONS_MANAGER, store=home)
    client.force_login(manager)
    for model in (Resource, Event):
        add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        form = client.get(add).context["adminform"].form
        assert list(form.fields["store"].queryset) == [home], model

    response = client.post(reverse("admin:amenities_resource_add"), {
        "store": other.pk, "kind": Resource.Kind.VIP_LOUNGE, "name": "别店休息室", "is_active": "on",
        "eligible_tiers": [], "slots-TOTAL_FORMS": "0", "slots-INITIAL_FORMS": "0"})
    assert response.status_code == 200  # the form refuses the other store
    assert "store" in response.context["adminform"].form.errors
    assert not Resource.objects.filter(name="别店休息室").exists()


def test_registrations_need_their_view_permission(client, two_stores):
    home, _, mine, _ = two_stores
    desk = make_staff(roles.FRONT_DESK, store=home)
    client.force_login(desk)
    assert client.get(_changelist(Registration)).status_code == 403
    desk.user_permissions.add(Permission.objects.get(codename="view_registration"))
    client.force_login(type(desk).objects.get(pk=desk.pk))
    assert list(client.get(_changelist(Registration)).context["cl"].result_list) == [mine[Registration]]
