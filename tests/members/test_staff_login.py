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


# ---------------------------------------------------------------- the desk's own login (issue 16)


def test_desk_login_page_is_chinese_and_lands_on_the_desk(client):
    make_staff(username="clerk3")
    page = client.get("/desk/login/?next=/desk/search/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "员工登录" in text and "MemberHub" in text and 'value="/desk/search/"' in text
    assert client.post("/desk/login/", {"username": "clerk3", "password": "correct-horse-42"})["Location"] == "/desk/"
    client.logout()
    back = client.post("/desk/login/", {"username": "clerk3", "password": "correct-horse-42", "next": "/desk/search/"})
    assert back["Location"] == "/desk/search/"


def test_desk_login_refuses_a_next_off_the_site_and_non_staff_accounts(client, django_user_model):
    make_staff(username="clerk4")
    away = client.post("/desk/login/", {"username": "clerk4", "password": "correct-horse-42",
                                        "next": "https://evil.example/steal"})
    assert away["Location"] == "/desk/"
    client.logout()
    django_user_model.objects.create_user("shopper", password="correct-horse-42", is_staff=False)
    refused = client.post("/desk/login/", {"username": "shopper", "password": "correct-horse-42"})
    assert refused.status_code == 200 and "不是员工账号" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_without_next_lands_on_the_desk_not_accounts_profile(client):
    make_staff(username="clerk5")
    response = client.post("/admin/login/", {"username": "clerk5", "password": "correct-horse-42"})
    assert response.status_code == 302 and "/accounts/profile/" not in response["Location"]


def test_desk_logout_returns_to_the_desk_login(client):
    client.force_login(make_staff(username="clerk6"))
    response = client.post("/desk/logout/")
    assert response["Location"] == "/desk/login/" and "_auth_user_id" not in client.session
    assert client.get("/desk/")["Location"] == "/desk/login/?next=/desk/"


def test_desk_login_is_locked_out_like_the_admin_login(client, settings):
    make_staff(username="clerk7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/desk/login/", {"username": "clerk7", "password": "wrong"})
    response = client.post("/desk/login/", {"username": "clerk7", "password": "correct-horse-42"})
    assert response.status_code == 429 and "_auth_user_id" not in client.session
