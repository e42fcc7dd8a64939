from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = _("Paid membership")

    def ready(self):
        from amenities import hooks as amenities_hooks
        from core import reference_cache
        from core.panels import DESK_MEMBER, PORTAL_HOME, Panel, panel_register
        from points import hooks

        from . import jobs  # noqa: F401  (registers the nightly jobs)
        from .benefits import membership_parking_hours, membership_rates
        from .models import MembershipPlan
        from .till import membership_fee_line_post

        # One rate engine (points.calculation.member_rates): the plan's extra rate and offset cap on top of
        # the tier, for the checkout quote, the till purchase and the offset alike.
        hooks.register_rate_adjustment(membership_rates)
        # A till line of kind "membership_fee" buys or renews the plan in the purchase's transaction.
        hooks.register_line_kind("membership_fee", membership_fee_line_post)
        # The plan's free parking hours on top of the tier's daily allowance at the desk (amenities).
        amenities_hooks.register_parking_extra(membership_parking_hours)
        reference_cache.invalidate_on_change("plans", MembershipPlan)

        # The member 360 page (members) and the member centre (portal home) show the plan as htmx slots.
        panel_register(Panel(page=DESK_MEMBER, key="plan", title=_("Paid membership"),
                             template="plans/desk/_panel_slot.html", order=25))
        panel_register(Panel(page=PORTAL_HOME, key="plan", title=_("My paid membership"),
                             template="plans/portal/_home_slot.html", order=25))
