"""The segment builder (issue 16, 运营经理): chips for RFM class, lifecycle stage, tier, tag, store,
gender, kind and channel, ranges for spend, closeness and age. It reads and writes the definition
dict evaluation.selectors.segment_members evaluates (the same keys the API and the admin store), so
nobody types JSON. The desk page, its live count (htmx) and the admin use this one form."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members import scope
from members.models import Member, Store, Tag, Tier

from .models import RFM_CHINESE_NAMES, LifecycleStage, RfmClass


class Chips(forms.CheckboxSelectMultiple):
    """Checkboxes drawn as chips (static/evaluation/segments.css)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "chips", **(attrs or {})}, choices)


def _chips(label, *, choices=(), help_text=""):
    return forms.MultipleChoiceField(label=label, choices=choices, required=False, widget=Chips(),
                                     help_text=help_text)


def _model_chips(label, queryset, to_field_name, help_text=""):
    return forms.ModelMultipleChoiceField(label=label, queryset=queryset, required=False, widget=Chips(),
                                          to_field_name=to_field_name, help_text=help_text)


def _number(label, *, min_value=0, max_value=None, decimal=False, placeholder=""):
    attrs = {"placeholder": placeholder, "class": "short"}
    if decimal:
        return forms.DecimalField(label=label, required=False, min_value=min_value, max_value=max_value,
                                  max_digits=12, decimal_places=2, widget=forms.NumberInput(attrs=attrs))
    return forms.IntegerField(label=label, required=False, min_value=min_value, max_value=max_value,
                              widget=forms.NumberInput(attrs=attrs))


CONSENT_CHOICES = [("", _("Either")), ("yes", _("Given")), ("no", _("Not given"))]
# (definition key, form field) for the list keys; their values are stored as codes / names.
LIST_KEYS = ("rfm_classes", "lifecycle_stages", "tiers", "tags", "stores", "gender", "kind", "channel")
NUMBER_KEYS = ("spend_min", "spend_max", "closeness_min_percentile", "closeness_max_percentile", "min_age",
               "max_age", "registered_within_days")
TEXT_LIST_KEYS = ("province", "city")


class SegmentRulesForm(forms.Form):
    """The conditions of a segment. An empty condition does not narrow; all conditions hold at once
    (AND); the chips of one condition are alternatives (OR)."""

    rfm_classes = _chips(_("RFM class"))
    lifecycle_stages = _chips(_("Lifecycle stage"), choices=LifecycleStage.choices)
    tiers = _model_chips(_("Tier"), Tier.objects.order_by("rank"), "code")
    tags = _model_chips(_("Tags"), Tag.objects.order_by("name"), "name")
    stores = _model_chips(_("Home store"), Store.objects.none(), "code")
    spend_min = _number(_("Spend from (yuan)"), decimal=True, placeholder="0")
    spend_max = _number(_("Spend up to (yuan)"), decimal=True)
    closeness_min_percentile = _number(_("Closeness percentile from"), max_value=100, placeholder="0")
    closeness_max_percentile = _number(_("Closeness percentile up to"), max_value=100, placeholder="100")
    gender = _chips(_("Gender"), choices=Member.Gender.choices)
    min_age = _number(_("Age from"), max_value=120)
    max_age = _number(_("Age up to"), max_value=120)
    kind = _chips(pgettext_lazy("member kind", "Kind"), choices=Member.Kind.choices)
    channel = _chips(_("Joined through"), choices=Member.Channel.choices)
    marketing_consent = forms.ChoiceField(label=_("Marketing consent"), choices=CONSENT_CHOICES, required=False,
                                          widget=forms.RadioSelect(attrs={"class": "chips"}))
    registered_within_days = _number(_("Joined within (days)"), min_value=1, max_value=36500)
    province = forms.CharField(label=_("Province"), required=False, max_length=200,
                               help_text=_("Several: separate with commas."))
    city = forms.CharField(label=_("City"), required=False, max_length=200,
                           help_text=_("Several: separate with commas."))

    SPEND_HELP = _("Amount paid minus refunds in the RFM window of the latest RFM snapshot.")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rfm_classes"].choices = [(c, RFM_CHINESE_NAMES[RfmClass(c)]) for c in RfmClass.values]
        self.fields["stores"].queryset = (scope.stores_for(user) if user is not None else Store.objects.all()
                                          ).order_by("code")
        self.fields["spend_min"].help_text = self.SPEND_HELP

    # ------------------------------------------------------------ definition <-> form

    @classmethod
    def initial_from(cls, definition: dict) -> dict:
        """Form initial data from a stored definition (single values become one-item lists)."""
        initial = {}
        for key in LIST_KEYS:
            if key in definition:
                value = definition[key]
                initial[key] = value if isinstance(value, list) else [value]
        for key in NUMBER_KEYS:
            if definition.get(key) is not None:
                initial[key] = definition[key]
        for key in TEXT_LIST_KEYS:
            if key in definition:
                value = definition[key]
                initial[key] = "，".join(value) if isinstance(value, list) else str(value)
        if "marketing_consent" in definition:
            initial["marketing_consent"] = "yes" if definition["marketing_consent"] else "no"
        return initial

    def clean(self):
        data = super().clean()
        pairs = [("spend_min", "spend_max", _("The spend 'from' must not be above 'up to'.")),
                 ("closeness_min_percentile", "closeness_max_percentile",
                  _("The closeness 'from' must not be above 'up to'.")),
                 ("min_age", "max_age", _("The age 'from' must not be above 'up to'."))]
        for low, high, message in pairs:
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, message)
        return data

    def definition(self) -> dict:
        """The definition the engine evaluates, only the conditions that were set (call after is_valid)."""
        data = self.cleaned_data
        definition: dict = {}
        for key in LIST_KEYS:
            values = data.get(key) or []
            field = self.fields[key]
            if isinstance(field, forms.ModelMultipleChoiceField):
                values = [getattr(o, field.to_field_name) for o in values]
            if values:
                definition[key] = list(values)
        for key in NUMBER_KEYS:
            value = data.get(key)
            if value is not None:
                definition[key] = str(value.quantize(Decimal("0.01"))) if isinstance(value, Decimal) else value
        for key in TEXT_LIST_KEYS:
            values = [v.strip() for v in (data.get(key) or "").replace("，", ",").split(",") if v.strip()]
            if values:
                definition[key] = values
        if data.get("marketing_consent"):
            definition["marketing_consent"] = data["marketing_consent"] == "yes"
        return definition

    def chip_summary(self) -> list[str]:
        """The chosen conditions in words (for the count line), call after is_valid."""
        out = []
        for key in ("rfm_classes", "lifecycle_stages", "tiers", "tags", "stores", "gender", "kind", "channel"):
            field = self.fields[key]
            chosen = self.cleaned_data.get(key) or []
            if not chosen:
                continue
            if isinstance(field, forms.ModelMultipleChoiceField):
                names = [getattr(o, "name", str(o)) for o in chosen]
            else:
                labels = dict(field.choices)
                names = [str(labels.get(v, v)) for v in chosen]
            out.append(f"{field.label}：{' / '.join(names)}")
        return out


GROUPS = [
    (_("Value and activity"), ("rfm_classes", "lifecycle_stages", "spend_min", "spend_max", "closeness_min_percentile",
                  "closeness_max_percentile")),
    (_("Membership"), ("tiers", "tags", "stores", "registered_within_days", "channel", "kind", "marketing_consent")),
    (_("Person"), ("gender", "min_age", "max_age", "province", "city")),
]


def grouped(form: forms.Form) -> list[tuple[str, list, list]]:
    """The builder's fields in the groups the page shows: (title, chip fields, other fields)."""
    out = []
    for title, names in GROUPS:
        bound = [form[name] for name in names]
        chips = [f for f in bound if isinstance(f.field.widget, (forms.CheckboxSelectMultiple, forms.RadioSelect))]
        out.append((title, chips, [f for f in bound if f not in chips]))
    return out


def describe(definition: dict, *, tier_names: dict[str, str] | None = None,
             store_names: dict[str, str] | None = None) -> list[str]:
    """A stored definition in words, e.g. ["RFM 分类：重要价值", "等级：金卡"], for lists that show many
    segments (pass the tier / store names read once for the page; no query here)."""
    fields = SegmentRulesForm.base_fields
    names = {"tiers": tier_names or {}, "stores": store_names or {}}
    rfm = {c: RFM_CHINESE_NAMES[RfmClass(c)] for c in RfmClass.values}
    out = []
    for key, value in definition.items():
        field = fields.get(key)
        label = str(field.label) if field is not None else key
        values = value if isinstance(value, list) else [value]
        if key == "rfm_classes":
            words = [rfm.get(str(v), str(v)) for v in values]
        elif key in names:
            words = [names[key].get(str(v), str(v)) for v in values]
        elif key == "marketing_consent":
            words = [str(CONSENT_CHOICES[1][1] if value else CONSENT_CHOICES[2][1])]
        elif field is not None and getattr(field, "choices", None) and not isinstance(
                field, forms.ModelMultipleChoiceField):
            labels = {str(k): str(v) for k, v in field.choices}
            words = [labels.get(str(v), str(v)) for v in values]
        else:
            words = [str(v) for v in values]
        out.append(f"{label}：{' / '.join(words)}")
    return out
