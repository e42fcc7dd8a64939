"""Settings shared by every environment. Deploy-specific values come from the environment."""
import datetime
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me-0123456789abcdef")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "core.web.csrf_failure"  # the surface's Chinese 403 page, not Django's English one

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "django_htmx",
    "core.vendor_apps.AxesConfig",  # django-axes under a Chinese name in the admin
    "phonenumber_field",
    "health_check",
    "core",
    "members",
    "wechat",
    "messaging",
    "points",
    "tiers",
    "benefits",
    "amenities",
    "engagement",
    "service_desk",
    "care",
    "plans",
    "evaluation",
    "dashboards",
    "demo",
]

MIDDLEWARE = [
    # Token API calls (tills) branch off here into API_MIDDLEWARE below (issue 17).
    "core.middleware.TokenApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "members.portal_auth.PortalMemberMiddleware",
    # AxesMiddleware must be last.
    "axes.middleware.AxesMiddleware",
]

# The lean stack of cookie-less calls under API_PATH_PREFIX with an Authorization header
# (core.middleware.TokenApiMiddleware): no sessions, locale negotiation, CSRF, messages or htmx.
API_PATH_PREFIX = "/api/"
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "memberhub.urls"
WSGI_APPLICATION = "memberhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "messaging.context_processors.portal_nav",
            ],
        },
    }
]

# Kept as a setting too: processes this one starts (tests, benches) reach the same server through it (core.dburl).
DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/memberhub")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Read replica (issue 17): read-heavy pages read there inside core.replica.reads() (core.db_router), falling
# back to the primary when it is unreachable or more than DATABASE_REPLICA_MAX_LAG_SECONDS behind (measured at
# most every DATABASE_REPLICA_CHECK_SECONDS). Unset: one database, no router.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=2.0)
DATABASE_ROUTERS = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].update(CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=True,
                                TEST={"MIRROR": "default"})
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2))
    DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://memberhub"),
}
# How long a process trusts its copies of the till path's reference rows (core.reference_cache:
# devices, points config, campaigns) before re-reading their version in the cache above.
REFERENCE_CACHE_CHECK_SECONDS = env.float("REFERENCE_CACHE_CHECK_SECONDS", default=1.0)

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Staff log in on the desk's own page and land on the desk (members use the portal's SMS login).
LOGIN_URL = "staff_login"
LOGIN_REDIRECT_URL = "desk:home"
LOGOUT_REDIRECT_URL = "staff_login"

# i18n: Chinese by default, English switchable.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# Our catalogue first (it wins), then the Chinese for packages that ship none (django-unfold,
# django-axes, drf-spectacular; tests/core/test_vendor_catalogue.py).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
TIME_ZONE = "Asia/Shanghai"
# The first business day of the chain: purchases and refunds cannot be older (points.calculation).
CHAIN_START_DATE = datetime.date.fromisoformat(env.str("MEMBERHUB_CHAIN_START_DATE", default="2000-01-01"))
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "/media/"
# Uploaded files (gift pictures) are served by Django itself (memberhub.urls, with cache and nosniff headers)
# unless a reverse proxy serves MEDIA_URL from MEDIA_ROOT; then set DJANGO_SERVE_MEDIA=false (README "Media files").
SERVE_MEDIA = env.bool("DJANGO_SERVE_MEDIA", default=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (core.middleware), on in production. No page needs inline script (charts
# read their data from json_script blocks); inline styles stay allowed because templates use style
# attributes and htmx and ECharts insert <style>/style attributes. QR codes are data: URIs.
CONTENT_SECURITY_POLICY_ENABLED = env.bool("DJANGO_CSP_ENABLED", default=False)
CONTENT_SECURITY_POLICY_REPORT_ONLY = env.bool("DJANGO_CSP_REPORT_ONLY", default=False)
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# The admin (django-unfold) runs Alpine.js's standard build, which compiles every x-data/x-on
# expression with `new AsyncFunction(...)`: without 'unsafe-eval' no admin menu, filter or action
# works. Unfold ships no CSP build, so only /admin/ gets it; desk and portal keep the strict policy.
CONTENT_SECURITY_POLICY_ADMIN = {**CONTENT_SECURITY_POLICY, "script-src": ["'self'", "'unsafe-eval'"]}

# --- Personal-data protection (SEC-2) ---
# Fernet keys (urlsafe base64, 32 bytes). The first key encrypts; all keys decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2LW9ubHktZmllbGQta2V5LTMyYnl0ZXM="]
)
# HMAC key for exact-match lookup hashes of mobile and ID numbers.
FIELD_HASH_KEY = env("FIELD_HASH_KEY", default="local-dev-only-hash-key")
PRIVACY_POLICY_VERSION = env("PRIVACY_POLICY_VERSION", default="2026-11")
# Absolute address of the site, for links sent by SMS / e-mail (e.g. https://members.example.com).
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="")

# --- SMS codes (MEM-1, SEC-5) ---
SMS_BACKEND = env("SMS_BACKEND", default="messaging.sms.ConsoleBackend")
SMS_CODE_TTL_SECONDS = env.int("SMS_CODE_TTL_SECONDS", default=300)
SMS_CODE_RESEND_SECONDS = env.int("SMS_CODE_RESEND_SECONDS", default=60)
SMS_CODE_MAX_PER_MOBILE_PER_DAY = env.int("SMS_CODE_MAX_PER_MOBILE_PER_DAY", default=10)
SMS_CODE_MAX_PER_IP_PER_HOUR = env.int("SMS_CODE_MAX_PER_IP_PER_HOUR", default=30)
SMS_CODE_MAX_ATTEMPTS = env.int("SMS_CODE_MAX_ATTEMPTS", default=5)
MEMBER_QR_TTL_SECONDS = env.int("MEMBER_QR_TTL_SECONDS", default=300)
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10)
SMS_RATE_MAX_WAIT_SECONDS = env.float("SMS_RATE_MAX_WAIT_SECONDS", default=5)
SMS_CALLBACK_TOKEN = env("SMS_CALLBACK_TOKEN", default="")
SMS_CONSOLE_QUIET = env.bool("SMS_CONSOLE_QUIET", default=False)  # benchmarks: console backend prints nothing
ALIYUN_SMS_ENDPOINT = env("ALIYUN_SMS_ENDPOINT", default="https://dysmsapi.aliyuncs.com/")
ALIYUN_SMS_ACCESS_KEY_ID = env("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_SIGN_NAME = env("ALIYUN_SMS_SIGN_NAME", default="")
ALIYUN_SMS_REGION = env("ALIYUN_SMS_REGION", default="cn-hangzhou")
TENCENT_SMS_ENDPOINT = env("TENCENT_SMS_ENDPOINT", default="https://sms.tencentcloudapi.com/")
TENCENT_SMS_SECRET_ID = env("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_SIGN_NAME = env("TENCENT_SMS_SIGN_NAME", default="")
TENCENT_SMS_REGION = env("TENCENT_SMS_REGION", default="ap-guangzhou")
# --- WeChat Official Account (公众号, issue 18): OAuth2 web authorisation, template messages, callback URL ---
# Empty WECHAT_APP_ID: WeChat is off (no OAuth entry, no wechat channel messages are created).
WECHAT_APP_ID = env("WECHAT_APP_ID", default="")
WECHAT_APP_SECRET = env("WECHAT_APP_SECRET", default="")
WECHAT_TOKEN = env("WECHAT_TOKEN", default="")          # the callback URL's signature token
WECHAT_AES_KEY = env("WECHAT_AES_KEY", default="")      # EncodingAESKey (43 characters): safe mode
WECHAT_API_BASE = env("WECHAT_API_BASE", default="https://api.weixin.qq.com")
WECHAT_OAUTH_BASE = env("WECHAT_OAUTH_BASE", default="https://open.weixin.qq.com")
WECHAT_HTTP_TIMEOUT = env.float("WECHAT_HTTP_TIMEOUT", default=10)
# The access token is refreshed this long before WeChat says it expires (capped at half its life).
WECHAT_TOKEN_REFRESH_MARGIN_SECONDS = env.int("WECHAT_TOKEN_REFRESH_MARGIN_SECONDS", default=300)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="MemberHub <noreply@localhost>")

# --- django-axes (staff login lock-out) ---
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Password spraying: this many failures from one IP within the cool-off, across usernames, lock the IP
# (core.security; axes itself has one limit for every parameter combination).
AXES_HANDLER = "core.security.StaffLoginLockoutHandler"
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=20)

# --- Celery ---
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default="redis://127.0.0.1:6379/0"))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("sms"), Queue("nightly"))
CELERY_TASK_ROUTES = {
    "core.tasks.run_job_task": {"queue": "nightly"},
    "messaging.tasks.*": {"queue": "sms"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Broker-less machines (the test command without Redis): kombu's file transport, still a real
    # queue between processes. Production always uses Redis.
    _fs = env("CELERY_BROKER_FS_DIR", default=str(BASE_DIR / ".broker"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _fs, "data_folder_out": _fs, "control_folder": _fs, "store_processed": False
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- DRF / OpenAPI ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "members.api_auth.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api_input.BoundedLimitOffsetPagination",
    # JSON bodies bounded in size and depth before parsing (core.api); forms for the browsable docs only.
    "DEFAULT_PARSER_CLASSES": ["core.api_input.BoundedJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"sms_code": "30/hour", "member_lookup": "120/min", "member_consent": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MemberHub API",
    "DESCRIPTION": "Till, staff-app and partner API of the MemberHub membership system.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No settings: the page is a plain <redoc spec-url> element without an inline init script (CSP).
    "REDOC_UI_SETTINGS": "",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.document_common_errors"],
    "ENUM_NAME_OVERRIDES": {
        "MemberStatusEnum": "members.models.Member.Status",
        "ChangeRequestStatusEnum": "members.models.ChangeRequest.Status",
        "LedgerEntryKindEnum": "points.models.Entry.Kind",
        "PrizeKindEnum": "points.models.Prize.Kind",
        "TierChangeKindEnum": "tiers.models.ChangeKind",
        "StaffChannelEnum": "service_desk.services.STAFF_CHANNEL_CHOICES",
    },
}

PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"

UNFOLD = {
    "SITE_TITLE": _("MemberHub staff"),
    "SITE_HEADER": _("MemberHub"),
    "SHOW_LANGUAGES": True,
    "SITE_URL": "/desk/",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
AXES_VERBOSE = False
