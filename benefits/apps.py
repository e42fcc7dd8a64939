from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "benefits"
    verbose_name = _("Benefits and member day")

    def ready(self):
        from messaging.hooks import register_birthday_offer

        from .greetings import birthday_offer_text

        register_birthday_offer(birthday_offer_text)
