"""Desk actions of the wechat app about one member, mounted at /desk/wechat/ (namespace wechat_desk)."""
from django.urls import path

from . import views

app_name = "wechat_desk"
urlpatterns = [
    path("members/<str:member_no>/panel/", views.desk_panel, name="panel"),
    path("members/<str:member_no>/unbind/", views.desk_unbind, name="unbind"),
]
