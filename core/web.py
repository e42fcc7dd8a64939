"""The web toolkit every desk and portal page uses: who may open a page, and what a domain error looks
like on a page. One definition each, so the rule cannot drift between apps.

- `staff_required`: logged-in, active staff; others go to the login page.
- `permission_required(perm)` / `need(user, perm)`: the role check, declared once per view.
- `member_required`: a portal page for a logged-in member (`request.member`, set by the portal
  middleware of `members`); an htmx request whose session ended is sent to the login page whole.
- `portal_render(request, template, section, context)` / `id_param(value)`: a portal page with its nav
  section; an id from the query string or body (404 unless a positive integer).
- `action_refused(request, exc, page_view)`: a one-button action refused by a domain error re-renders
  the page it came from with the message and the error's status, like a form page with field errors.
- `error_page(request, exc)`: one response for a `MemberHubError` that a view does not turn into a
  form error itself — the same shape on every page of a surface: the error page with the error's
  status (400/403/404/409/429) and its message; an htmx request gets the message as a fragment.
- `handler403/404/500`, `csrf_failure`: Chinese error pages for the desk, the portal and the admin; JSON for
  the API.

core imports no app: the portal's login URL is looked up by name.
"""
from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _

from .errors import MemberHubError, NotFound
from .errors import PermissionDenied as DomainPermissionDenied

PORTAL_LOGIN_URL_NAME = "portal:login"


def client_ip(request) -> str | None:
    """REMOTE_ADDR only: a proxy in front must set it (e.g. gunicorn --forwarded-allow-ips), so a client
    cannot write its own address into the audit log with X-Forwarded-For."""
    return request.META.get("REMOTE_ADDR") or None


def surface_of(request) -> str:
    """'api', 'portal', 'admin' or 'desk' by the path, for error pages."""
    path = request.path
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/portal/"):
        return "portal"
    if path.startswith("/admin/"):
        return "admin"
    return "desk"


def is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


def current_member(request):
    """The logged-in member as a plain model instance (request.member is a lazy proxy)."""
    member = request.member
    return getattr(member, "_wrapped", member)


def id_param(value) -> int:
    """An id from the query string or POST body (portal URLs carry none, SEC-3); anything that is not a
    positive integer is a 404, like an id that names another member's row."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if pk <= 0:
        raise Http404
    return pk


# The portal's bottom tab bar (首页 / 权益 / 积分商城 / 服务 / 我的): the tab each page section belongs to.
# A section not listed here (a page that reports none) lights no tab. Sections are the `portal_section`
# strings pages pass; keep a new page's section in this map so its tab lights up.
PORTAL_TABS = ("home", "perks", "mall", "services", "me")
PORTAL_TAB_OF_SECTION = {
    "home": "home",
    "perks": "perks", "tier": "perks", "benefits": "perks", "events": "perks", "partners": "perks",
    "mall": "mall", "gifts": "mall", "coupons": "mall", "lottery": "mall", "points": "mall",
    "services": "services", "service": "services", "amenities": "services", "surveys": "services",
    "me": "me", "profile": "me", "consents": "me", "my_data": "me", "privacy": "me", "inbox": "me",
    "purchases": "me", "claims": "me", "close": "me",
}


def portal_tab_of(section: str) -> str:
    return PORTAL_TAB_OF_SECTION.get(section, "")


def portal_render(request, template: str, section: str, context: dict | None = None, *, status: int | None = None):
    """A portal page: the logged-in member and the nav section base.html marks as current. The unread
    inbox count comes from the portal nav context processor (messaging.context_processors)."""
    context = dict(context or {})
    context.setdefault("member", current_member(request))
    context["portal_section"] = section
    return render(request, template, context, status=status)


def need(user, perm: str) -> None:
    """The role check of a page: 403 (the Chinese error page) when the role lacks `perm`."""
    if not user.has_perm(perm):
        raise DjangoPermissionDenied(_("Your role does not allow this."))


def error_page(request, exc: MemberHubError, *, status: int | None = None):
    """The one page response for a domain error on the desk and the portal."""
    status = status or exc.status
    template = f"errors/{'portal' if surface_of(request) == 'portal' else 'desk'}.html"
    context = {"status": status, "message": exc.message, "code": exc.code, "fields": exc.fields}
    if is_htmx(request):
        return render(request, "errors/_fragment.html", context, status=status)
    return render(request, template, context, status=status)


def action_refused(request, exc: MemberHubError, page_view, *args, **kwargs):
    """A one-button action (order, cancel, book, redeem, draw) refused by a domain error: the page it was
    posted from, rendered again with the message and the error's status. That is the shape a form page
    has when it re-renders with its field errors, so every page of a surface answers a domain error the
    same way (no 302 + flash for some and a status for others); htmx and tests read the status."""
    from django.contrib import messages

    messages.error(request, exc.message)
    request.method = "GET"  # render the page view's GET
    response = page_view(request, *args, **kwargs)
    response.status_code = exc.status
    return response


def _raise_as_http(exc: MemberHubError):
    if isinstance(exc, NotFound):
        raise Http404(exc.message) from exc
    if isinstance(exc, DomainPermissionDenied):
        raise DjangoPermissionDenied(exc.message) from exc


def staff_required(view):
    """Logged-in, active staff only; everyone else goes to the staff login (settings.LOGIN_URL). A domain
    error the view lets through becomes the error page (404/403 as Django's, the rest by its status)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        try:
            return view(request, *args, **kwargs)
        except MemberHubError as exc:
            _raise_as_http(exc)
            return error_page(request, exc)

    return wrapper


def permission_required(perm: str):
    """`@permission_required("members.view_member")` under `@staff_required`: the page's one declaration."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            need(request.user, perm)
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm
        return wrapper

    return decorator


def member_required(view):
    """A portal page for the logged-in member; a domain error becomes the portal's error page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not getattr(request, "member", None):
            login = reverse(PORTAL_LOGIN_URL_NAME)
            if is_htmx(request):
                from django_htmx.http import HttpResponseClientRedirect

                return HttpResponseClientRedirect(login)
            return HttpResponseRedirect(login)
        try:
            return view(request, *args, **kwargs)
        except MemberHubError as exc:
            _raise_as_http(exc)
            return error_page(request, exc)

    return wrapper


# ---------------------------------------------------------------- error handlers (memberhub.urls)


def _error(request, status: int, message: str):
    if surface_of(request) == "api":
        return JsonResponse({"code": {403: "forbidden", 404: "not_found", 500: "server_error",
                                      400: "bad_request"}.get(status, "error"),
                             "detail": message, "fields": {}}, status=status)
    template = "errors/portal.html" if surface_of(request) == "portal" else "errors/desk.html"
    return render(request, template, {"status": status, "message": message, "code": ""}, status=status)


def handler400(request, exception=None):
    return _error(request, 400, _("The request could not be understood."))


def handler403(request, exception=None):
    message = str(exception) if exception and str(exception) else _("You do not have permission to open this page.")
    return _error(request, 403, message)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent with an expired or missing token (a page left open past its session)
    gets the surface's 403 page with what to do, instead of Django's "CSRF verification failed" page."""
    return _error(request, 403, _("This page has expired. Reload it and try again."))


def handler404(request, exception=None):
    from django.urls import Resolver404

    # A domain NotFound ("No such member.") keeps its message; an unknown URL gets the general one.
    message = str(exception) if exception and not isinstance(exception, Resolver404) and exception.args else ""
    return _error(request, 404, message or _("The page you asked for does not exist, or you cannot see it."))


def handler500(request):
    # No template context processors may run here (the database may be what failed).
    from django.template import loader

    if surface_of(request) == "api":
        return JsonResponse({"code": "server_error", "detail": _("Something went wrong on our side."), "fields": {}},
                            status=500)
    html = loader.get_template("errors/500.html").render({"status": 500})
    from django.http import HttpResponseServerError

    return HttpResponseServerError(html)
