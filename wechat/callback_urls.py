"""The callback URL configured in the Official Account (服务器配置), mounted at /wechat/."""
from django.urls import path

from .callback import callback

app_name = "wechat"
urlpatterns = [path("callback/", callback, name="callback")]
