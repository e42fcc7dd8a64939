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
