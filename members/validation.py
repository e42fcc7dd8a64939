"""Format and completeness checks of member data (MEM-1/2), with field-level messages."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers import PhoneMetadata
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc

from core.errors import ValidationFailed

from . import divisions
from .models import Member

PROFILE_FIELDS = ("name", "gender", "birthday", "province", "city", "district", "address", "occupation", "email")
SENSITIVE_FIELDS = ("mobile", "id_number", "address")


# What people and scanners put between the digits of a mobile: spaces (also the ideographic and no-break
# ones), dashes, dots, brackets: "138 0013 8000", "138-0013-8000", "+86 (138) 0013.8000".
_MOBILE_SEPARATORS = re.compile(r"[\s\-.()\u2010-\u2015]")


def _mobile_text(raw: str) -> str:
    """The typed mobile without separators; full-width digits and plus (＋８６…) become ASCII (NFKC)."""
    return _MOBILE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))


def _normalize_mobile_full(raw: str) -> str:
    """The full libphonenumber check (and the messages for every rejection)."""
    raw = _mobile_text(raw)
    if not raw:
        raise ValueError(_("Enter a mobile number."))
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise ValueError(_("Enter a valid mainland China mobile number (11 digits starting with 1).")) from None
    national = str(number.national_number)
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        or len(national) != 11
    ):
        raise ValueError(_("Enter a valid mainland China mobile number (11 digits starting with 1)."))
    return national


def _china_mobile_patterns():
    """libphonenumber's own China patterns, so the fast path follows metadata updates."""
    md = PhoneMetadata.metadata_for_region("CN")
    # is_valid_number also requires the length to be one the description allows.
    must = [re.compile(d.national_number_pattern) for d in (md.general_desc, md.mobile)
            if not d.possible_length or 11 in d.possible_length]
    if len(must) != 2:
        must = [re.compile(r"(?!)")]  # metadata no longer allows 11 digits: always take the full check
    # number_type() tries these before fixed line / mobile; a match makes the number not a mobile.
    earlier = [getattr(md, t) for t in ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
                                        "pager", "uan", "voicemail")]
    must_not = [re.compile(d.national_number_pattern) for d in earlier if d is not None and d.national_number_pattern]
    carrier_prefix = re.compile(md.national_prefix_for_parsing) if md.national_prefix_for_parsing else None
    return must, must_not, carrier_prefix


_MUST, _MUST_NOT, _CARRIER_PREFIX = _china_mobile_patterns()
_MOBILE_SHAPE = re.compile(r"1[3-9]\d{9}")


def normalize_mobile(raw: str) -> str:
    """Return the 11-digit mainland mobile number, or raise ValueError with a message.

    About 30x faster than the full libphonenumber check for the common plain 11-digit form.

    phonenumbers.parse + is_valid_number + number_type cost ~70 us a number. For a plain
    1[3-9]xxxxxxxxx string that parsing cannot alter (no carrier-selection prefix to strip), the
    verdict is: the general and mobile patterns match and no type checked before mobile does; we
    apply those same metadata patterns directly. Anything else, and every rejection (for its
    message), goes through the full check. tests/members/test_import.py compares both on every
    five-digit prefix."""
    value = _mobile_text(raw)
    if (
        _MOBILE_SHAPE.fullmatch(value)
        and not (_CARRIER_PREFIX and _CARRIER_PREFIX.match(value))
        and all(p.fullmatch(value) for p in _MUST)
        and not any(p.fullmatch(value) for p in _MUST_NOT)
    ):
        return value
    return _normalize_mobile_full(raw)


def normalize_id_number(raw: str) -> str:
    value = (raw or "").strip().upper()
    try:
        value = ric.validate(value)
    except stdnum_exc.InvalidLength:
        raise ValueError(_("A resident ID number has 18 characters.")) from None
    except stdnum_exc.InvalidChecksum:
        raise ValueError(_("The ID number's check digit is wrong; please check it.")) from None
    except stdnum_exc.InvalidComponent:
        raise ValueError(_("The ID number contains an impossible birth date or region.")) from None
    except stdnum_exc.ValidationError:
        raise ValueError(_("Enter a valid 18-digit resident ID number.")) from None
    if len(value) != 18:
        raise ValueError(_("A resident ID number has 18 characters."))
    return value


def normalize_credit_code(raw: str) -> str:
    try:
        return uscc.validate((raw or "").strip().upper())
    except stdnum_exc.ValidationError:
        raise ValueError(_("Enter a valid 18-character unified social credit code.")) from None


def clean_member_data(data: dict, *, partial: bool = False, today: dt.date | None = None) -> dict:
    """Validate raw input; return cleaned values or raise ValidationFailed with every field's error.

    `partial=True` validates only the keys present (change requests)."""
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    out: dict = {}

    def need(key: str) -> bool:
        return not partial or key in data

    if need("name"):
        name = (data.get("name") or "").strip()
        if not name:
            errors["name"] = [_("Enter the member's name.")]
        elif len(name) > 50:
            errors["name"] = [_("The name is too long (50 characters at most).")]
        else:
            out["name"] = name
    if need("mobile"):
        try:
            out["mobile"] = normalize_mobile(data.get("mobile", ""))
        except ValueError as exc:
            errors["mobile"] = [str(exc)]
    if "gender" in data:
        gender = data.get("gender") or Member.Gender.UNKNOWN
        if gender not in Member.Gender.values:
            errors["gender"] = [_("Choose male, female or not stated.")]
        else:
            out["gender"] = gender
    if data.get("birthday") not in (None, ""):
        birthday = data["birthday"]
        if isinstance(birthday, str):
            try:
                birthday = dt.date.fromisoformat(birthday.strip())
            except ValueError:
                errors["birthday"] = [_("Enter the birthday as YYYY-MM-DD.")]
                birthday = None
        if birthday:
            if birthday > today:
                errors["birthday"] = [_("The birthday cannot be in the future.")]
            elif birthday.year < 1900:
                errors["birthday"] = [_("Enter a birthday after 1900.")]
            else:
                out["birthday"] = birthday
    elif "birthday" in data:
        out["birthday"] = None
    if data.get("id_number"):
        try:
            out["id_number"] = normalize_id_number(data["id_number"])
        except ValueError as exc:
            errors["id_number"] = [str(exc)]
    if data.get("email"):
        email = data["email"].strip()
        try:
            validate_email(email)
            out["email"] = email
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    elif "email" in data:
        out["email"] = ""
    if "division_code" in data:  # chosen from GB/T 2260: the names are the code's, whatever was typed
        code = str(data.get("division_code") or "").strip()
        names = divisions.names_for(code) if code else None
        if code and names is None:
            errors["division_code"] = [_("Choose the province, city and district from the list.")]
        else:
            out["division_code"] = code
            if names:
                data = {**data, "province": names.province, "city": names.city, "district": names.district}
    for key, limit in (("province", 20), ("city", 20), ("district", 20), ("occupation", 50), ("address", 200)):
        if key in data:
            value = (data.get(key) or "").strip()
            if len(value) > limit:
                errors[key] = [_("Too long (%(limit)s characters at most).") % {"limit": limit}]
            else:
                out[key] = value
    if "id_number" in out and "birthday" in out and out["birthday"]:
        if ric.get_birth_date(out["id_number"]) != out["birthday"]:
            errors["birthday"] = [_("The birthday does not match the ID number.")]
    elif "id_number" in out and not partial and "birthday" not in errors:
        out.setdefault("birthday", ric.get_birth_date(out["id_number"]))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return out


def clean_corporate_data(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    out = {}
    company = (data.get("company_name") or "").strip()
    if not company:
        errors["company_name"] = [_("Enter the company name.")]
    out["company_name"] = company
    try:
        out["credit_code"] = normalize_credit_code(data.get("credit_code", ""))
    except ValueError as exc:
        errors["credit_code"] = [str(exc)]
    contact = (data.get("contact_person") or "").strip()
    if not contact:
        errors["contact_person"] = [_("Enter the contact person.")]
    out["contact_person"] = contact
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return out


def age_on(birthday: dt.date, day: dt.date) -> int:
    """Whole years of age on `day` (a birthday on 29 February counts from 1 March in other years)."""
    return day.year - birthday.year - ((day.month, day.day) < (birthday.month, birthday.day))
