"""Factories shared by every app's tests (Faker zh_CN)."""
from __future__ import annotations

import random

import factory
from django.contrib.auth.models import Group, User

from core import crypto
from members import roles
from members.models import Member, StaffProfile, Store, Tier
from members.services import member_numbers_allocate

factory.Faker._DEFAULT_LOCALE = "zh_CN"

_PREFIXES = ["138", "139", "150", "151", "186", "187", "135", "136", "158", "177"]


def random_mobile() -> str:
    return random.choice(_PREFIXES) + f"{random.randrange(10**8):08d}"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Faker("company")
    city = factory.Faker("city_name")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("correct-horse-42")


def make_staff(role: str | None = roles.FRONT_DESK, *, store: Store | None = None, chain_wide: bool = False,
               **user_kwargs) -> User:
    """A staff user with a role (permission group) and a store, as the admin would create one."""
    user = UserFactory(**user_kwargs)
    if store is None and not chain_wide:
        store = StoreFactory()
    StaffProfile.objects.create(user=user, store=store, chain_wide=chain_wide)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


class MemberFactory(factory.django.DjangoModelFactory):
    """An active personal member; pass `mobile=` to choose the number."""

    class Meta:
        model = Member

    member_no = factory.LazyFunction(lambda: member_numbers_allocate(1)[0])
    status = Member.Status.ACTIVE
    name = factory.Faker("name")
    gender = factory.Iterator(["M", "F"])
    birthday = factory.Faker("date_of_birth", minimum_age=18, maximum_age=80)
    home_store = factory.SubFactory(StoreFactory)
    tier = factory.LazyFunction(lambda: Tier.objects.get(code="normal"))
    channel = Member.Channel.PORTAL
    privacy_version = "2026-11"

    class Params:
        mobile = factory.LazyFunction(random_mobile)

    mobile_enc = factory.LazyAttribute(lambda o: crypto.encrypt(o.mobile))
    mobile_hash = factory.LazyAttribute(lambda o: crypto.lookup_hash(o.mobile))
    mobile_masked = factory.LazyAttribute(lambda o: crypto.mask_mobile(o.mobile))


def ensure_catalogue(brands=("LANCOME",), categories=("化妆品",)) -> None:
    """The catalogue rows a desk purchase form's lines choose from (members.Brand, ProductCategory)."""
    from members.models import Brand, ProductCategory

    for code in brands:
        Brand.objects.get_or_create(code=code, defaults={"name": code})
    for code in categories:
        ProductCategory.objects.get_or_create(code=code, defaults={"name": code})
