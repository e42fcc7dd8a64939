"""Forms of the desk's points pages (PTS-5..8). They only shape input: the rules (idempotency,
eligibility, four-eyes, thresholds) live in points.services, whose domain errors are put back on the
form with `members.forms_desk.add_domain_error`."""
from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members import scope
from members.models import Brand, ProductCategory, Store

from .calculation import CENT
from .models import Entry, Gift

TENDER_CHOICES = [
    ("", "—"),
    ("cash", _("Cash")),
    ("bank_card", _("Bank card")),
    ("wechat", _("WeChat Pay")),
    ("alipay", _("Alipay")),
    ("unionpay", _("UnionPay")),
    ("other", _("Other payment")),
    ("coupon", _("Coupon")),
    ("gift_card", _("Gift card")),
    ("points", _("Points offset")),
]

# A clock a few minutes fast must not block the desk; anything later is a typing mistake.
FUTURE_SLACK = timezone.timedelta(minutes=10)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _now_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


def _new_request_id() -> str:
    return uuid.uuid4().hex


class StoreChoiceMixin:
    """Staff of one store always act for it; chain-wide staff choose a store within their scope."""

    store_label = _("Store")

    def _setup_store(self, user) -> None:
        self.user = user
        if scope.is_chain_wide(user):
            self.fields["store"] = forms.ModelChoiceField(label=self.store_label, queryset=scope.stores_for(user),
                                                          initial=scope.staff_store(user))

    def acting_store(self):
        if "store" in self.fields:
            return self.cleaned_data["store"]
        return scope.staff_store(self.user)

    def clean(self):
        cleaned = super().clean()
        if "store" not in self.fields and scope.staff_store(self.user) is None:
            raise forms.ValidationError(_("Your staff profile has no store; ask an administrator to set it."))
        return cleaned


def _yuan(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


# ---------------------------------------------------------------- offline purchase and refund


def catalogue_choices() -> tuple[list, list]:
    """(brand choices, category choices) of the active catalogue (members.Brand, members.ProductCategory):
    the codes purchase lines carry, labelled with their names. Read once per form, not per line."""
    empty = [("", "—")]
    return ([*empty, *((b.code, str(b)) for b in Brand.objects.filter(is_active=True))],
            [*empty, *((c.code, str(c)) for c in ProductCategory.objects.filter(is_active=True))])


class PurchaseLineForm(forms.Form):
    brand = forms.ChoiceField(label=_("Brand"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                                required=False, widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01",
                                                                                "data-line-amount": ""}))

    def __init__(self, *args, brands=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = brands
        self.fields["category"].choices = categories

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("brand") or cleaned.get("category")) and cleaned.get("amount") is None:
            self.add_error("amount", _("Enter the line amount."))
        return cleaned


class TenderForm(forms.Form):
    type = forms.ChoiceField(label=_("Payment"), choices=TENDER_CHOICES, required=False)
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=12, decimal_places=2, min_value=0,
                                required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("type") and cleaned.get("amount") is None:
            self.add_error("amount", _("Enter the amount paid."))
        elif not cleaned.get("type") and cleaned.get("amount") is not None:
            self.add_error("type", _("Choose how it was paid."))
        return cleaned


# One line and one payment to start with; the page adds more as needed (static/desk/purchase.js).
LineFormSet = forms.formset_factory(PurchaseLineForm, extra=1, max_num=20, validate_max=True)
TenderFormSet = forms.formset_factory(TenderForm, extra=1, max_num=10, validate_max=True)


class OfflinePurchaseForm(StoreChoiceMixin, forms.Form):
    """A till order entered at the desk while the till was offline (PTS-1, PTS-9)."""

    order_no = forms.CharField(label=_("Receipt number (till order number)"), max_length=64,
                               help_text=_("Required, exactly as printed on the receipt; checked against the store's "
                                           "till postings, and the same number is never credited twice."))
    occurred_at = forms.DateTimeField(label=_("Time of the purchase"), widget=DateTimeLocalInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _now_minute
        self._setup_store(user)
        brands, categories = catalogue_choices()
        self.lines = LineFormSet(*args, prefix="lines", form_kwargs={"brands": brands, "categories": categories})
        self.tenders = TenderFormSet(*args, prefix="tenders")

    def clean_order_no(self):
        return self.cleaned_data["order_no"].strip()

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value > timezone.now() + FUTURE_SLACK:
            raise forms.ValidationError(_("The purchase time is in the future."))
        return value

    def is_valid(self) -> bool:
        valid = all([super().is_valid(), self.lines.is_valid(), self.tenders.is_valid()])
        if valid and not self.line_data():
            self.add_error(None, _("Enter at least one line with an amount."))
            valid = False
        if valid and not self.tender_data():
            self.add_error(None, _("Enter at least one payment."))
            valid = False
        return valid

    def line_data(self) -> list[dict]:
        """Lines as the till sends them (amounts as strings with two decimals, so a resubmission of
        the same receipt hashes the same)."""
        return [{"brand": row.get("brand", ""), "category": row.get("category", ""), "amount": _yuan(row["amount"])}
                for row in self.lines.cleaned_data if row and row.get("amount") is not None]

    def tender_data(self) -> list[dict]:
        return [{"type": row["type"], "amount": _yuan(row["amount"])}
                for row in self.tenders.cleaned_data if row and row.get("type")]


class PurchasePreviewInput:
    """What the points preview reads from a half-filled purchase form: the lines and payments that are
    valid so far, the store and the time (now until a valid one is typed). Never raises."""

    def __init__(self, form: OfflinePurchaseForm):
        form.is_valid()  # errors of the receipt number etc. do not stop a preview
        self.lines = form.line_data() if form.lines.is_valid() else []
        self.tenders = form.tender_data() if form.tenders.is_valid() else []
        cleaned = getattr(form, "cleaned_data", {})
        self.store = cleaned.get("store") if "store" in form.fields else scope.staff_store(form.user)
        self.occurred_at = cleaned.get("occurred_at") or timezone.now()


class OfflineRefundForm(StoreChoiceMixin, forms.Form):
    """A refund entered at the desk (PTS-5): the points of the original order are reversed in proportion."""

    order_no = forms.CharField(label=_("Original order number"), max_length=64)
    original_store = forms.ModelChoiceField(
        label=_("Store of the original order"), queryset=None, required=False,
        help_text=_("Only needed when the member has orders with this number in several stores."),
    )
    refund_no = forms.CharField(label=_("Refund number"), max_length=64)
    amount = forms.DecimalField(label=_("Refund amount (yuan)"), max_digits=12, decimal_places=2,
                                min_value=Decimal("0.01"))
    occurred_at = forms.DateTimeField(label=_("Time of the refund"), widget=DateTimeLocalInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["original_store"].queryset = Store.objects.order_by("code")
        self.fields["occurred_at"].initial = _now_minute
        self._setup_store(user)

    def clean_order_no(self):
        return self.cleaned_data["order_no"].strip()

    def clean_refund_no(self):
        return self.cleaned_data["refund_no"].strip()


# ---------------------------------------------------------------- redemption


class GiftOrderForm(StoreChoiceMixin, forms.Form):
    """Order a gift for the member (PTS-6a); the request id makes a double click one order."""

    store_label = _("Pick-up store")

    gift = forms.ModelChoiceField(label=_("Gift"), queryset=None, empty_label=None)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=99, initial=1)
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, user, gifts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gift"].queryset = Gift.objects.filter(pk__in=[g.pk for g in gifts])
        self.fields["gift"].label_from_instance = lambda g: gettext("%(name)s — %(points)s points") % {
            "name": g.name, "points": g.points_cost}
        self.fields["request_id"].initial = _new_request_id
        self._setup_store(user)


class CouponRedeemForm(forms.Form):
    """Issue a coupon into the member's wallet, paid in points (PTS-6b)."""

    coupon_type = forms.ModelChoiceField(label=_("Coupon"), queryset=None, empty_label=None)
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, coupon_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coupon_type"].queryset = coupon_types
        self.fields["coupon_type"].label_from_instance = lambda c: gettext(
            "%(name)s (%(value)s yuan) — %(points)s points") % {
            "name": c.name, "value": c.face_value, "points": c.points_cost}
        self.fields["request_id"].initial = _new_request_id


class GiftOrderCloseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


# ---------------------------------------------------------------- adjustment (PTS-7)


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(label=_("Points"), help_text=_("Positive adds points, negative deducts them."))
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_points(self):
        value = self.cleaned_data["points"]
        if value == 0:
            raise forms.ValidationError(_("Enter a positive or negative number of points."))
        return value

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError(_("Say why the points are adjusted."))
        return value


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *Entry.Kind.choices])
