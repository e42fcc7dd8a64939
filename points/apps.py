from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = _("Points")

    def ready(self):
        from core import figures
        from core.panels import DESK_MEMBER, DESK_MEMBER_SUMMARY, PORTAL_HOME, Panel, panel_register
        from members.hooks import register_member_reviewed

        from . import net_paid
        from .services.held import held_points_settle

        # A pending desk sign-up's held sales are credited on approval, released on rejection (issue 15).
        register_member_reviewed(held_points_settle)

        # evaluation (below points) reads the one net-paid definition through core.figures (points.net_paid).
        figures.register_net_paid(net_paid)

        # The member 360 page (members) shows the points panel as an htmx slot loading points_desk:panel.
        panel_register(Panel(page=DESK_MEMBER, key="points", title=_("Points"),
                             template="points/desk/_panel_slot.html", order=10, wide=True))
        # Its figures in the page's sticky summary bar (issue 16): balance, expiring points, coupons.
        panel_register(Panel(page=DESK_MEMBER_SUMMARY, key="points", title=_("Points"),
                             template="points/desk/_summary_slot.html", order=10))
        # 会员消费详细信息 (PTS-8): the member's orders, loaded the same way from points_desk:purchases_panel.
        panel_register(Panel(page=DESK_MEMBER, key="purchases", title=_("Purchase history"),
                             template="points/desk/_purchases_slot.html", order=15, wide=True))

        # The portal home (members) shows the balance, coupons and the expiry banner from points_portal:home_summary.
        panel_register(Panel(page=PORTAL_HOME, key="points", title=_("My points"),
                             template="points/portal/_home_summary_slot.html", order=10))

        # Its sections of the member's data download (members.member_data, issue 15) through core.member_data.
        from .member_data import register as register_member_data

        register_member_data()

        # What every till purchase reads and operations rarely change (PointsConfig.cached, calculation.live_campaigns).
        from core import reference_cache

        from .models import Campaign
        from .models import PointsConfig as Config

        reference_cache.invalidate_on_change("points_config", Config)
        reference_cache.invalidate_on_change("campaigns", Campaign)
