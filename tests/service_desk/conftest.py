import pytest

from members import roles
from tests.factories import MemberFactory, StoreFactory, make_staff


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English messages; the zh-hans catalogue must not change what is tested."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def other_store():
    return StoreFactory()


@pytest.fixture
def manager(store):
    user = make_staff(roles.OPERATIONS_MANAGER, store=store)
    store.manager = user
    store.save(update_fields=["manager"])
    return user


@pytest.fixture
def agent(store):
    """Customer service (客服): handles complaints and grants compensation in its store."""
    return make_staff(roles.CUSTOMER_SERVICE, store=store)


@pytest.fixture
def desk_clerk(store):
    return make_staff(roles.FRONT_DESK, store=store)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, name="王小明")
