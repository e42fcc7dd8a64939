from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from health_check.views import HealthCheckView

from members.views_staff_auth import StaffLoginView, StaffLogoutView

from .media import media_serve

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
    path("desk/login/", StaffLoginView.as_view(), name="staff_login"),
    path("desk/logout/", StaffLogoutView.as_view(), name="staff_logout"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "health/",
        HealthCheckView.as_view(
            checks=["health_check.checks.Database", "health_check.checks.Cache", "core.health.Broker"]
        ),
        name="health",
    ),
    path("messaging/", include("messaging.urls")),
    path("wechat/", include("wechat.callback_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script from a URL, not inline: the Content-Security-Policy allows it.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include("service_desk.urls")),
    path("portal/service/", include("service_desk.portal_urls")),
    path("desk/service/", include("service_desk.desk_urls")),
    path("api/v1/", include("care.api_urls")),
    path("portal/care/", include("care.portal_urls")),
    path("desk/care/", include("care.desk_urls")),
    path("api/v1/", include("members.api_urls")),
    path("api/v1/", include("points.urls")),
    path("api/v1/", include("tiers.urls")),
    path("api/v1/", include("evaluation.urls")),
    path("api/v1/", include("benefits.urls")),
    path("api/v1/", include("engagement.api_urls")),
    path("portal/benefits/", include("benefits.portal_urls")),
    path("portal/amenities/", include("amenities.portal_urls")),
    path("portal/engagement/", include("engagement.portal_urls")),
    path("portal/wechat/", include("wechat.portal_urls")),
    # Pages of points, tiers and the inbox keep the paths they had under members' prefixes.
    path("portal/", include("points.portal_urls")),
    path("portal/", include("tiers.portal_urls")),
    path("portal/", include("plans.portal_urls")),
    path("portal/", include("messaging.portal_urls")),
    path("portal/", include("members.portal_urls")),
    path("desk/dashboards/", include("dashboards.urls")),
    path("desk/campaigns/", include("messaging.campaign_urls")),
    path("desk/messaging/", include("messaging.desk_urls")),
    path("desk/evaluation/", include("evaluation.desk_urls")),
    path("desk/import/", include("members.import_urls")),
    path("desk/amenities/", include("amenities.desk_urls")),
    path("desk/engagement/", include("engagement.desk_urls")),
    path("desk/wechat/", include("wechat.desk_urls")),
    path("desk/", include("points.desk_urls")),
    path("desk/", include("tiers.desk_urls")),
    path("desk/", include("plans.desk_urls")),
    path("desk/", include("members.desk_urls")),
]
if settings.SERVE_MEDIA:
    # Gift pictures (MEDIA_ROOT); a reverse proxy may serve them instead (DJANGO_SERVE_MEDIA=false).
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media_serve, name="media"))

# Chinese error pages for the desk, the portal and the admin; the API's error body (core.web).
handler400 = "core.web.handler400"
handler403 = "core.web.handler403"
handler404 = "core.web.handler404"
handler500 = "core.web.handler500"
