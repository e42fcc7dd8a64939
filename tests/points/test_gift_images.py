"""Gift pictures (issue 16): checked on upload (type by content, size, dimensions), stored under MEDIA_ROOT
with a random name, served from MEDIA_URL, shown in the portal's 积分商城 and the admin."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from points.gift_images import GIFT_IMAGE_MAX_BYTES, gift_image_path, validate_gift_image
from points.models import Gift
from tests.factories import MemberFactory
from tests.members.test_portal import login_as
from tests.points.test_portal import give, make_gift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def picture(size=(300, 300), fmt="PNG", name="cup.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, "#9b1c2e").save(out, format=fmt)
    return SimpleUploadedFile(name, out.getvalue(), content_type=f"image/{fmt.lower()}")


def _code(upload) -> str:
    with pytest.raises(ValidationError) as exc:
        validate_gift_image(upload)
    return exc.value.code


def test_a_square_png_jpeg_or_webp_is_accepted():
    for fmt, name in (("PNG", "a.png"), ("JPEG", "a.jpg"), ("WEBP", "a.webp")):
        validate_gift_image(picture(fmt=fmt, name=name))


def test_too_small_too_large_or_oversized_pictures_are_refused():
    assert _code(picture(size=(80, 300))) == "gift_image_dimensions"
    assert _code(picture(size=(4100, 200))) == "gift_image_dimensions"
    big = picture()
    big.size = GIFT_IMAGE_MAX_BYTES + 1
    assert _code(big) == "gift_image_too_large"


def test_a_non_picture_or_a_renamed_file_is_refused():
    assert _code(SimpleUploadedFile("evil.png", b"<script>alert(1)</script>")) == "gift_image_unreadable"
    assert _code(picture(name="cup.gif")) == "gift_image_type"
    assert _code(picture(fmt="JPEG", name="cup.png")) == "gift_image_type_mismatch"
    gif = io.BytesIO()
    Image.new("RGB", (200, 200)).save(gif, format="GIF")
    assert _code(SimpleUploadedFile("cup.gif", gif.getvalue())) == "gift_image_type"


def test_stored_names_are_random_and_keep_only_a_known_extension():
    a, b = gift_image_path(None, "1.JPG"), gift_image_path(None, "1.JPG")
    assert a != b and a.startswith("gifts/") and a.endswith(".jpg")
    assert gift_image_path(None, "../../etc/passwd").endswith(".png")


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "correct-horse-42"))
    return client


def _admin_data(gift: Gift, **extra) -> dict:
    return {"name": gift.name, "description": gift.description, "points_cost": gift.points_cost, "stock": gift.stock,
            "per_member_limit": "", "valid_from_0": gift.valid_from.strftime("%Y-%m-%d"),
            "valid_from_1": gift.valid_from.strftime("%H:%M:%S"), "valid_to_0": gift.valid_to.strftime("%Y-%m-%d"),
            "valid_to_1": gift.valid_to.strftime("%H:%M:%S"), "is_active": "on", **extra}


def test_admin_uploads_a_picture_shows_its_preview_and_refuses_a_bad_one(admin_client, _media):
    gift = make_gift()
    url = reverse("admin:points_gift_change", args=[gift.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="image"' in page
    response = admin_client.post(url, _admin_data(gift, image=picture(size=(50, 50))))
    assert response.status_code == 200 and "50 × 50" in response.content.decode()
    gift.refresh_from_db()
    assert not gift.image
    response = admin_client.post(url, _admin_data(gift, image=picture()))
    assert response.status_code == 302, response.content.decode()[:3000]
    gift.refresh_from_db()
    assert gift.image.name.startswith("gifts/") and (_media / gift.image.name).exists()
    page = admin_client.get(url).content.decode()
    assert f'src="{gift.image.url}"' in page  # unfold's picture widget previews it
    assert gift.image.url in admin_client.get(reverse("admin:points_gift_changelist")).content.decode()


def test_the_portal_shows_the_picture_and_media_serves_it(client, _media):
    member = MemberFactory()
    login_as(client, member)
    give(member, 5000)
    gift = make_gift(name="保温杯")
    gift.image.save("x.png", picture(), save=True)
    plain = make_gift(name="雨伞")
    html = client.get(reverse("points_portal:gifts")).content.decode()
    assert f'<img class="gift-image" src="{gift.image.url}"' in html
    assert f'id="gift-{plain.pk}"' in html and 'gift-initial' in html
    response = client.get(gift.image.url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff" and "max-age" in response["Cache-Control"]
    (_media / "gifts" / "notes.html").write_text("<script></script>")
    assert client.get("/media/gifts/notes.html").status_code == 404  # only pictures are served
    assert client.get("/media/../settings.py").status_code == 404
