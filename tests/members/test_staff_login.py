"""SEC-5: staff password login is locked out after repeated failures (django-axes)."""
import pytest

from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def test_staff_locked_out_after_repeated_failures(client, settings):
    make_staff(username="clerk1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "clerk1", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "clerk1", "password": "correct-horse-42"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_staff_login_works_with_right_password(client):
    make_staff(username="clerk2")
    response = client.post("/admin/login/?next=/admin/", {"username": "clerk2", "password": "correct-horse-42"})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


SPRAYER = "203.0.113.7"


def spray(client, usernames, tries: int, ip: str = SPRAYER) -> list[int]:
    return [client.post("/admin/login/", {"username": name, "password": f"guess-{n}"}, REMOTE_ADDR=ip).status_code
            for name in usernames for n in range(tries)]


def test_password_spraying_from_one_ip_locks_that_ip(client, settings):
    """Issue 13: four wrong passwords for each of many accounts from one IP lock the IP (20 failures
    within the cool-off), even for a further account's right password; other IPs are not affected."""
    assert settings.AXES_IP_FAILURE_LIMIT == 20 and settings.AXES_FAILURE_LIMIT == 5
    users = [make_staff(username=f"spray{n}").username for n in range(5)]
    sixth = make_staff(username="spray6")
    statuses = spray(client, users, tries=4)
    assert statuses[:19] == [200] * 19  # no username reached its own limit of 5
    response = client.post("/admin/login/", {"username": sixth.username, "password": "correct-horse-42"},
                           REMOTE_ADDR=SPRAYER)
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    other = client.post("/admin/login/?next=/admin/", {"username": sixth.username, "password": "correct-horse-42"},
                        REMOTE_ADDR="198.51.100.20")
    assert other.status_code == 302 and "_auth_user_id" in client.session


def test_ip_lock_ends_after_the_cool_off(client, settings):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    make_staff(username="after")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        spray(client, [f"nobody{n}" for n in range(5)], tries=4)
        assert client.post("/admin/login/", {"username": "after", "password": "correct-horse-42"},
                           REMOTE_ADDR=SPRAYER).status_code == 429
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1), tick=False):
        assert client.post("/admin/login/?next=/admin/", {"username": "after", "password": "correct-horse-42"},
                           REMOTE_ADDR=SPRAYER).status_code == 302


def test_a_successful_login_does_not_reset_the_ip_count(client):
    """A sprayer holding one valid account cannot wipe the address's failures by logging in with it."""
    make_staff(username="insider")
    spray(client, [f"victim{n}" for n in range(5)], tries=3)  # 15 failures
    assert client.post("/admin/login/?next=/admin/", {"username": "insider", "password": "correct-horse-42"},
                       REMOTE_ADDR=SPRAYER).status_code == 302
    client.logout()
    spray(client, [f"victim{n}" for n in range(5, 10)], tries=1)  # 20
    assert client.post("/admin/login/", {"username": "insider", "password": "correct-horse-42"},
                       REMOTE_ADDR=SPRAYER).status_code == 429


def test_per_user_lock_out_still_applies_below_the_ip_limit(client, settings):
    make_staff(username="clerk3")
    spray(client, ["clerk3"], tries=settings.AXES_FAILURE_LIMIT, ip="198.51.100.30")
    response = client.post("/admin/login/", {"username": "clerk3", "password": "correct-horse-42"},
                           REMOTE_ADDR="198.51.100.30")
    assert response.status_code == 429
    # The same user from another address is not locked.
    assert client.post("/admin/login/?next=/admin/", {"username": "clerk3", "password": "correct-horse-42"},
                       REMOTE_ADDR="198.51.100.31").status_code == 302
