"""SMS codes (MEM-1, SEC-5): expiring, single use, attempt-limited, rate-limited per number and IP."""
import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from core.errors import RateLimited, ValidationFailed
from members.sms_codes import sms_code_send, sms_code_verify

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


def test_code_is_single_use(get_sms_code):
    code = get_sms_code(MOBILE, "login")
    sms_code_verify(mobile=MOBILE, purpose="login", code=code)
    with pytest.raises(ValidationFailed):
        sms_code_verify(mobile=MOBILE, purpose="login", code=code)


def test_code_expires(get_sms_code, settings):
    code = get_sms_code(MOBILE, "login")
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=settings.SMS_CODE_TTL_SECONDS + 1)):
        with pytest.raises(ValidationFailed):
            sms_code_verify(mobile=MOBILE, purpose="login", code=code)


def test_code_is_bound_to_its_purpose(get_sms_code):
    code = get_sms_code(MOBILE, "login")
    with pytest.raises(ValidationFailed):
        sms_code_verify(mobile=MOBILE, purpose="signup", code=code)


def test_too_many_wrong_attempts_burn_the_code(get_sms_code, settings):
    code = get_sms_code(MOBILE, "login")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        with pytest.raises(ValidationFailed):
            sms_code_verify(mobile=MOBILE, purpose="login", code=wrong)
    with pytest.raises(ValidationFailed):
        sms_code_verify(mobile=MOBILE, purpose="login", code=code)


def test_resend_waits_and_daily_limit_per_number(get_sms_code, settings):
    get_sms_code(MOBILE, "login")
    with pytest.raises(RateLimited) as exc:
        sms_code_send(mobile=MOBILE, purpose="login")
    assert exc.value.code == "too_soon"
    start = timezone.now()
    for i in range(1, settings.SMS_CODE_MAX_PER_MOBILE_PER_DAY):
        with time_machine.travel(start + dt.timedelta(minutes=2 * i)):
            sms_code_send(mobile=MOBILE, purpose="login")
    with time_machine.travel(start + dt.timedelta(hours=23)):
        with pytest.raises(RateLimited) as exc:
            sms_code_send(mobile=MOBILE, purpose="login")
    assert exc.value.code == "daily_limit"


def test_limit_per_ip(settings):
    settings.SMS_CODE_MAX_PER_IP_PER_HOUR = 3
    for i in range(3):
        sms_code_send(mobile=f"1381234560{i}", purpose="login", ip="9.9.9.9")
    with pytest.raises(RateLimited) as exc:
        sms_code_send(mobile="13812345699", purpose="login", ip="9.9.9.9")
    assert exc.value.code == "ip_limit"
    sms_code_send(mobile="13812345699", purpose="login", ip="8.8.8.8")


def test_invalid_mobile_is_a_field_error():
    with pytest.raises(ValidationFailed) as exc:
        sms_code_send(mobile="12345", purpose="login")
    assert "mobile" in exc.value.fields


def test_code_is_stored_hashed(get_sms_code):
    from members.models import SmsCode

    code = get_sms_code(MOBILE, "login")
    stored = SmsCode.objects.get()
    assert code not in stored.code_hash and MOBILE not in stored.mobile_hash


def test_resend_wait_is_per_purpose(get_sms_code):
    get_sms_code(MOBILE, "signup")
    assert get_sms_code(MOBILE, "login")  # no wait for a different purpose
    with pytest.raises(RateLimited):
        sms_code_send(mobile=MOBILE, purpose="login")
