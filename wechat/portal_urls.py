"""The WeChat H5 pages of the portal, mounted at /portal/wechat/ (namespace wechat_portal)."""
from django.urls import path

from . import views

app_name = "wechat_portal"
urlpatterns = [
    path("", views.entry, name="entry"),
    path("oauth/", views.oauth_return, name="oauth_return"),
    path("bind/", views.bind, name="bind"),
    path("binding/", views.binding, name="binding"),
    path("binding/unbind/", views.unbind, name="unbind"),
]
