import datetime as dt

import pytest
import time_machine

from messaging.sms import InMemoryBackend


@pytest.fixture(autouse=True)
def sms_outbox():
    """Every test starts with an empty in-memory SMS outbox."""
    InMemoryBackend.outbox.clear()
    yield InMemoryBackend.outbox
    InMemoryBackend.outbox.clear()


@pytest.fixture(autouse=True)
def _reference_cache_fresh():
    """core.reference_cache keeps copies per process: a rolled-back test must not leave its rows there."""
    from core import reference_cache

    reference_cache.clear()
    yield
    reference_cache.clear()


@pytest.fixture(autouse=True)
def pinned_instant(request):
    """`@pytest.mark.pinned_at("2026-11-23T12:00+08:00")` on a test or module: the test, and every fixture
    it uses, runs at that instant (the clock ticks on from there unless `tick=False`). Autouse, so it
    starts before the test's other fixtures build their objects. Yields the traveller (or None)."""
    marker = request.node.get_closest_marker("pinned_at")
    if marker is None:
        yield None
        return
    instant = marker.args[0]
    if isinstance(instant, str):
        instant = dt.datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        raise ValueError("pinned_at needs an aware instant (say +08:00 for Asia/Shanghai)")
    with time_machine.travel(instant, tick=marker.kwargs.get("tick", True)) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _no_axes_lockout_leak(settings):
    settings.AXES_ENABLED = True
    yield


@pytest.fixture
def get_sms_code(sms_outbox, django_capture_on_commit_callbacks):
    """Send a code through the real service and return it as the member would read it."""
    import re

    from members.sms_codes import sms_code_send

    def _send(mobile: str, purpose: str = "signup", ip: str | None = None) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            sms_code_send(mobile=mobile, purpose=purpose, ip=ip)
        return re.search(r"(\d{6})", sms_outbox[-1].text).group(1)

    return _send


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests flush the database, migration data included: put tiers and roles back."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        from django.apps import apps

        from members.reference import ensure_reference_data

        ensure_reference_data(apps)
