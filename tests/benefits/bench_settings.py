"""Production settings with the benefits URLs mounted (tests.benefits.urls), for
bench/checkout_quote.py until memberhub/urls.py includes benefits.urls; harmless after."""
from memberhub.settings.production import *  # noqa: F403

ROOT_URLCONF = "tests.benefits.urls"
