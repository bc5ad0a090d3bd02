"""Settings, configured only through environment variables.

Safe defaults for local use; set DJANGO_SECRET_KEY, DJANGO_DEBUG=0,
DJANGO_ALLOWED_HOSTS, DATABASE_URL and REDIS_URL in production
(``manage.py check --deploy`` is clean then).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from kombu import Exchange, Queue

from core.db_router import REPORTING_ALIAS, pooler_options, reporting_database

from . import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
# The fallback is for local use only; its django-insecure- prefix makes `check --deploy` fail without a real key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "django-insecure-local-development-key-not-for-production-012345678"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "distribution_erp",
    "governance",
    "inventory",
    "orders",
    "warehouse",
    "cutover",
    "reporting",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "distribution_erp.middleware.ContentSecurityPolicyMiddleware",  # CONTENT_SECURITY_POLICY on every page
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "distribution_erp.middleware.RequestSizeLimitMiddleware",
    "warehouse.services.floor.FloorEventMiddleware",  # refused scans are recorded even when the request rolls back
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "distribution_erp.middleware.NulQueryMiddleware",  # a page's query or path with NUL: a 400 page
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "distribution_erp.middleware.ApiProblemMiddleware",  # last: an unhandled error under /api/ is problem+json
]

ROOT_URLCONF = "distribution_erp.urls"
WSGI_APPLICATION = "distribution_erp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context.workspace",
            ],
            # codes as labels on every page (issue 15): choice_label, rule_label, approval_kind, ... filters
            "builtins": ["web.templatetags.display"],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL -----------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    # Starts the embedded server, or attaches to the one `make run` / `make test` started (they export DATABASE_URL).
    DATABASES = {"default": dj_database_url.parse(embedded.database_url(), conn_max_age=60, conn_health_checks=True)}
DATABASES["default"].setdefault("TEST", {})
if os.environ.get("DJANGO_TEST_DB_NAME"):
    DATABASES["default"]["TEST"]["NAME"] = os.environ["DJANGO_TEST_DB_NAME"]
# PgBouncer in transaction pooling mode (core/db_router.py: what that turns off, and why it is safe)
DATABASES["default"] = pooler_options(DATABASES["default"], os.environ.get("DATABASE_POOLER", ""))
# KPI reads from a read replica (off unless REPORTING_DATABASE_URL is set; writes always go to default)
if os.environ.get("REPORTING_DATABASE_URL"):
    DATABASES[REPORTING_ALIAS] = reporting_database(
        os.environ["REPORTING_DATABASE_URL"], DATABASES["default"], dj_database_url.parse
    )
DATABASE_ROUTERS = ["core.db_router.ReportingRouter"]
#: the outbox relay's LISTEN connection: straight to PostgreSQL when the application connects through a pooler
OUTBOX_LISTEN_DATABASE_URL = os.environ.get("OUTBOX_LISTEN_DATABASE_URL", "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker: REDIS_URL, or local stand-ins that still run a real worker ----------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test workers each get their own Redis database, so one worker's cache.clear() (or login-failure
    # counters) cannot disturb another's: redis://host:6379/0 -> /0 for gw0, /1 for gw1 ...
    _base, _, _db = REDIS_URL.rpartition("/")
    if _base.count("/") >= 2 and _db.isdigit():
        REDIS_URL = f"{_base}/{int(_db) + int(os.environ['PYTEST_XDIST_WORKER'].removeprefix('gw'))}"
# Background work and recovery (README): tasks are acknowledged after they finish (acks_late) and requeued when
# their worker dies; every task has a hard time limit, and Redis redelivers a message not acknowledged within
# the visibility timeout (longer than the longest hard limit, so a running task is never delivered twice).
# Work a commit triggers goes through the outbox (governance.services.outbox), whose relay re-publishes a task
# not done within its lease (its hard limit + 5 s): that, not the visibility timeout, recovers a lost task.
CELERY_TASK_SOFT_TIME_LIMIT = 50
CELERY_TASK_TIME_LIMIT = 60
#: tasks that may run long (whole-network jobs) get more time; the outbox's tasks keep short limits (short lease)
CELERY_TASK_ANNOTATIONS = {
    "orders.tasks.allocate_order_task": {"soft_time_limit": 20, "time_limit": 25},
    **{
        name: {"soft_time_limit": 270, "time_limit": 300}
        for name in (
            "inventory.tasks.reconcile_inventory",
            "inventory.tasks.create_daily_counts",
            "reporting.tasks.snapshot_kpis",
            "orders.tasks.replenish_all_sites",
            "orders.tasks.reconcile_allocations_task",
            "orders.tasks.allocation_sweep",
            "governance.tasks.run_exception_sweeps",
            "governance.tasks.send_notification_digests",
        )
    },
    "orders.tasks.replenish_site": {"soft_time_limit": 110, "time_limit": 120},
}
CELERY_VISIBILITY_TIMEOUT = 330  # > the longest hard time limit (300 s)
# A request that publishes never waits long for a broker that is down: short connect and socket timeouts.
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_POOL_LIMIT = 10
# Not CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS: with it the worker died on a Redis restart while
# a task ran (kombu: "'NoneType' object has no attribute 'hostname'" restoring unacked messages; chaos suite F2,
# cf. celery/celery#9250). A task still running when the broker comes back finishes; tasks are idempotent and the
# outbox relay re-publishes what is not done after its lease.
# Celery 5.7 hit the same kombu error on every Redis restart, in its own reconnect path: the consumer below works
# around it (distribution_erp/celery_consumer.py says how; chaos suite F7).
CELERY_WORKER_CONSUMER = "distribution_erp.celery_consumer:Consumer"
if REDIS_URL:
    # fail-soft: a Redis outage falls back to a per-process memory cache (core/cache.py)
    CACHES = {
        "default": {
            "BACKEND": "core.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": 1.0,
        "socket_timeout": 5.0,
        "retry_on_timeout": False,
        # a publisher's connection fails at once instead of retrying for broker_connection_timeout (2 s seen per
        # release while Redis was down); the worker reconnects with its own broker_connection_retry loop
        "max_retries": 0,
        "health_check_interval": 10,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "erp"}}
    _broker = embedded.embedded_broker_settings()
    CELERY_BROKER_URL = _broker["broker_url"]
    CELERY_BROKER_TRANSPORT_OPTIONS = _broker["broker_transport_options"]

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in ("allocation", "replenishment", "alerts", "default")
)
# First match wins: replenishment tasks are named orders.tasks.replenish*, every other orders task allocates.
CELERY_TASK_ROUTES = {
    "orders.tasks.replenish*": {"queue": "replenishment"},
    "orders.tasks.overdue_receipts_sweep": {"queue": "alerts"},
    "orders.tasks.*": {"queue": "allocation"},
    "warehouse.tasks.*": {"queue": "alerts"},
    "governance.tasks.*": {"queue": "alerts"},
    "inventory.tasks.*": {"queue": "default"},
    "reporting.tasks.*": {"queue": "default"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date and time format per locale: templates use `|date` (DATE_FORMAT) and `|date:"DATETIME_FORMAT"`, never
# ad-hoc formats; the locale's own values are in distribution_erp/formats/<lang>/formats.py (en: ISO-like
# 2026-03-01 and 2026-03-01 14:05, what a warehouse reads and sorts without doubt).
FORMAT_MODULE_PATH = ["distribution_erp.formats"]
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [p for p in [BASE_DIR / "static"] if p.exists()]
# Front-end packages installed by `npm ci` (package.json / package-lock.json), served from node_modules under
# static/vendor/: never from a CDN, so the pages work offline.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS += [
    (f"vendor/{prefix}", NODE_MODULES / folder)
    for prefix, folder in (("htmx", "htmx.org/dist"), ("uplot", "uplot/dist"))
    if (NODE_MODULES / folder).exists()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "erp@localhost")

# --- Security (production when DJANGO_DEBUG=0) ----------------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy of every page (not /api/): own files only, inline code only with the request's nonce
# ({nonce}: request.csp_nonce, new for every request), no eval, no framing. Empty: no header.
CONTENT_SECURITY_POLICY = os.environ.get(
    "DJANGO_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
# ... and of the HTML API docs (/api/docs/, /api/redoc/): the same, except that Swagger UI and Redoc set inline
# style attributes and inject <style> tags (no nonce there), and Redoc runs its search in a blob: worker.
API_DOCS_CONTENT_SECURITY_POLICY = os.environ.get(
    "API_DOCS_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# --- API ----------------------------------------------------------------------------------------
API_MAX_PAGE_SIZE = 200
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# where core.api.idempotency keeps the first answer to each Idempotency-Key (as AUTH_USER_MODEL: core imports no app)
IDEMPOTENCY_RECORD_MODEL = "governance.IdempotencyRecord"
IDEMPOTENCY_KEY_TTL = timedelta(hours=int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "48")))
#: the API docs and schema need a login (token or session): on by default in production (DJANGO_DEBUG=0)
API_DOCS_REQUIRE_LOGIN = env_bool("API_DOCS_REQUIRE_LOGIN", not DEBUG)
#: webhooks may go to loopback and private addresses (a local receiver); off in production: no SSRF
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", DEBUG)
#: new API tokens (tokens page, create_api_token) expire after this many days unless given; 0: never by default
API_TOKEN_DEFAULT_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_DAYS", "90"))
#: the longest lifetime a new token may be given, in days; 0: no limit
API_TOKEN_MAX_DAYS = int(os.environ.get("API_TOKEN_MAX_DAYS", "365"))
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "300"))
# failed logins are counted per (account, client address) up to LOGIN_FAILURE_LIMIT, and per client address up to
# this much higher ceiling (many accounts tried from one address); see core/login_throttle.py
LOGIN_FAILURE_ADDRESS_LIMIT = int(os.environ.get("LOGIN_FAILURE_ADDRESS_LIMIT", "100"))
# the client address is REMOTE_ADDR unless this many trusted proxies in front append to TRUSTED_PROXY_HEADER
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
TRUSTED_PROXY_HEADER = os.environ.get("TRUSTED_PROXY_HEADER", "X-Forwarded-For")
# every password login (web page, admin, any authenticate() with a request) goes through the lockout
AUTHENTICATION_BACKENDS = ["distribution_erp.auth_backends.ThrottledModelBackend"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # a token may use a view and method only when its scopes allow (core/api/scopes.py); sessions are
    # not limited by scopes
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "governance.api.permissions.TokenScopePermission",
    ],
    # JSON with bounded nesting and no lone surrogates (core/api/parsers.py); forms as DRF's default
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "core.api.feeds.FeedOrderingFilter",  # DRF's, plus the change-feed order (api/feeds.py)
    ],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Distribution ERP API",
    "DESCRIPTION": "REST API for integrators: orders, inventory, warehouse execution and governance.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["core.api.docs.DocsPermission"],  # API_DOCS_REQUIRE_LOGIN
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SalesOrderStatusEnum": "orders.models.SalesOrder.Status",
        "SalesOrderChannelEnum": "orders.models.SalesOrder.Channel",
        "AllocationStatusEnum": "orders.models.Allocation.Status",
        "PurchaseOrderStatusEnum": "orders.models.PurchaseOrder.Status",
        "InventoryStatusEnum": "inventory.models.InventoryStatus",
        "AdjustableStatusEnum": "inventory.api.serializers.ADJUSTABLE_STATUSES",
        "AdjustmentStatusEnum": "inventory.models.Adjustment.Status",
        "AdjustmentReasonEnum": "inventory.models.Adjustment.Reason",
        "LocationKindEnum": "inventory.models.Location.Kind",
        "PhysicalLocationKindEnum": "inventory.api.serializers.PHYSICAL_LOCATION_KINDS",
        "RoleEnum": "governance.models.Role",
        "SiteStageEnum": "governance.models.Site.Stage",
        "ApprovalStatusEnum": "governance.models.ApprovalRequest.Status",
        "ExceptionStatusEnum": "governance.models.ExceptionCase.Status",
        "SeverityEnum": "governance.models.ExceptionCode.Severity",
        "JobRunStatusEnum": "governance.models.JobRun.Status",
        "ReceiptInspectionEnum": "warehouse.models.ReceiptLine.Inspection",
        "ReturnInspectionEnum": "orders.models.ReturnLine.Inspection",
        "HeldStatusEnum": "inventory.policy.holds.HELD",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "pgserver": {"level": "WARNING"}},
}
