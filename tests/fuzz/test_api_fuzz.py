"""A short, bounded schemathesis run over the whole OpenAPI document (issue 13): every operation, as a till
(device token) and as a front-desk staff session, with a fixed seed. Fails on any 5xx and on any response
that does not match its documented schema. In-process through WSGI, inside the test's transaction."""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from members import roles
from members.api_auth import device_create
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]


@pytest.fixture
def api_schema(db):
    """The app through WSGI, as Django's test client runs it: requests must not close the test's
    connection (its transaction holds the fixtures), so close_old_connections is off meanwhile."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from memberhub.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def store(db):
    store = StoreFactory(code="FZ01")
    MemberFactory(home_store=store)
    return store


@pytest.fixture
def till_headers(store):
    _device, token = device_create(name="Fuzz till", store=store)
    return {"headers": {"Authorization": f"Device {token}"}}


@pytest.fixture
def staff_headers(store, client):
    from django.middleware.csrf import _get_new_csrf_string

    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    csrf = _get_new_csrf_string()
    return {"headers": {"X-CSRFToken": csrf},
            "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}}


FUZZ = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error, response_schema_conformance]


def _fuzz(api_schema, credentials: dict) -> list[str]:
    """Every operation with its own hypothesis run (schemathesis' pytest plugin does not run on pytest 9:
    the loop is ours, the case generation and the checks are schemathesis')."""
    failures, statuses = [], {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40  # the whole document, not an empty one
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(**credentials)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected and reported together below
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    print(f"fuzz: {len(operations)} operations, responses by status {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= len(operations)  # every operation was called
    assert statuses.get(401, 0) < sum(statuses.values()) / 4  # the caller is authenticated, not bounced
    return failures


def test_no_operation_answers_5xx_or_off_schema_to_a_till(api_schema, till_headers):
    assert _fuzz(api_schema, till_headers) == []


def test_no_operation_answers_5xx_or_off_schema_to_staff(api_schema, staff_headers):
    assert _fuzz(api_schema, staff_headers) == []
