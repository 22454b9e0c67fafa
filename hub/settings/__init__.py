"""Settings for the distribution integration hub, read from environment variables.

The defaults give the embedded set-up (SQLite, ORM broker, debug off unless
asked); production sets DATABASE_URL, DJANGO_SECRET_KEY, ALLOWED_HOSTS and,
for scale-out, REDIS_URL. See the configuration table in README.md.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hub.settings.env import env_bool, env_int, env_list, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
_INSECURE_DEV_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _INSECURE_DEV_KEY)
PRODUCTION = env_bool("HUB_PRODUCTION", False)
if PRODUCTION and SECRET_KEY == _INSECURE_DEV_KEY:
    raise ImproperlyConfigured("HUB_PRODUCTION is on: set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE).")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "canonical",
    "governance",
    "connectors",
    "hub",
]

# bench/ serves a bare DRF endpoint from the same processes as the baseline of its benchmarks.
HUB_BENCH_BARE = env_bool("HUB_BENCH_BARE", False)
if HUB_BENCH_BARE:
    INSTALLED_APPS.append("bench.bare")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hub.middleware.RequestLimitsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hub.middleware.LinkPermissionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Key, subscription, lifecycle and rate plan of every partner call under /api/v<N>/ (governance).
    "governance.policy.middleware.GovernancePolicyMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", "sqlite:///var/hub.sqlite3"), base_dir=BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The hot paths' plain-SQL statements are prepared once per PostgreSQL connection
# (canonical.services.prepared); false behind a pooler that resets sessions between transactions.
HUB_PREPARED_STATEMENTS = env_bool("HUB_PREPARED_STATEMENTS", True)
# At most this many per connection: the least recently used one is deallocated to make room.
HUB_PREPARED_STATEMENTS_MAX = env_int("HUB_PREPARED_STATEMENTS_MAX", 200, minimum=32)

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # The database cache is shared by every web process and worker, which the rate
    # limiter and the django-q2 cluster statistics need; locmem would not be.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "hub_cache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves static files from the web process itself (admin, Swagger UI, Redoc):
# nothing is fetched from the internet. With finders on, no collectstatic step is needed;
# production runs collectstatic and turns them off for speed.
WHITENOISE_USE_FINDERS = env_bool("HUB_STATIC_FINDERS", True)
WHITENOISE_AUTOREFRESH = False

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "/"

# Request bodies over this size are refused with 413 before a view parses them.
HUB_MAX_BODY_BYTES = env_int("HUB_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(HUB_MAX_BODY_BYTES, 2_621_440)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["hub.parsers.HubJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["hub.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "canonical.api.pagination.StableCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hub.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Distribution Integration Hub API",
    "DESCRIPTION": (
        "Canonical data, process and event APIs for CRM, ERP, WMS, carrier, ecommerce and supplier systems. "
        "Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. "
        "Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise send the schema to validator.swagger.io: nothing leaves this server.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True, "persistAuthorization": True},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Choice sets shared by several serializers get one schema component each, with a stable name.
    "ENUM_NAME_OVERRIDES": {
        "AddressKindEnum": "canonical.models.customers.AddressKind",
        "CustomerStatusEnum": "canonical.models.customers.CustomerStatus",
        "DomainEnum": "canonical.models.base.Domain",
        "LocationKindEnum": "canonical.models.inventory.LocationKind",
        "ProductStatusEnum": "canonical.models.catalog.ProductStatus",
        "SystemKindEnum": "canonical.models.base.SystemKind",
        "OrderStatusEnum": "canonical.models.orders.OrderStatus",
        "MilestoneCodeEnum": "canonical.models.fulfilment.MilestoneCode",
        "InvoiceStatusEnum": "canonical.models.billing.InvoiceStatus",
        "ReturnStatusEnum": "canonical.models.billing.ReturnStatus",
        "PurchaseOrderStatusEnum": "canonical.models.supply.PurchaseOrderStatus",
        "PurchaseOrderKindEnum": "canonical.models.supply.PurchaseOrderKind",
        "AcknowledgementStatusEnum": "canonical.models.supply.AcknowledgementStatus",
        "InboundStatusEnum": "connectors.models.inbound.InboundStatus",
        "TimelineEntryKindEnum": "hub.selectors.timeline.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.schema.add_problem_responses",
        "hub.schema.portable_integer_bounds",
    ],
}

Q_CLUSTER = {
    "name": "hub",
    # The dispatcher loops (HUB_DISPATCHERS) each hold a worker; one more keeps the schedules running.
    "workers": env_int("HUB_Q_WORKERS", env_int("HUB_DISPATCHERS", 2, minimum=1) + 1, minimum=1),
    "timeout": env_int("HUB_Q_TIMEOUT", 300, minimum=10),
    "retry": env_int("HUB_Q_TIMEOUT", 300, minimum=10) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Django Q2",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# A worker is healthy when its heartbeat task ran within this many seconds.
HUB_WORKER_HEARTBEAT_MAX_AGE = env_int("HUB_WORKER_HEARTBEAT_MAX_AGE", 180, minimum=10)

# Connector credentials stored in the database are encrypted with this Fernet key
# (32 url-safe base64 bytes; `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
# Without it a key is derived from DJANGO_SECRET_KEY, so rotating that key needs the secrets re-entered.
HUB_SECRETS_KEY = env_str("HUB_SECRETS_KEY", "")
# The delivery dispatcher: how many loops the worker cluster runs, how many deliveries one
# claims at a time, and how long a claim (lease) lasts before another worker may take it over.
HUB_DISPATCHERS = env_int("HUB_DISPATCHERS", 2, minimum=1)
HUB_DISPATCH_BATCH = env_int("HUB_DISPATCH_BATCH", 50, minimum=1)
HUB_DELIVERY_LEASE_SECONDS = env_int("HUB_DELIVERY_LEASE_SECONDS", 60, minimum=5)

# Runtime API policy (governance): off only for benchmarks and diagnosis. Usage counters are
# added up in memory and written every HUB_USAGE_FLUSH_SECONDS (0 = on every call).
HUB_POLICY_ENABLED = env_bool("HUB_POLICY_ENABLED", True)
HUB_USAGE_FLUSH_SECONDS = env_int("HUB_USAGE_FLUSH_SECONDS", 1, minimum=0)

# Returns and supply promises (canonical rules; see README "Fulfilment, supply, invoices and returns").
# An RMA line is authorised within HUB_RETURN_WINDOW_DAYS of the line's last shipment (or, with
# HUB_RETURN_WINDOW_FROM=invoice, of its first invoice). A supplier's confirmed date later than the
# date the supply is needed by plus HUB_SUPPLIER_DATE_TOLERANCE_DAYS is a supplier date miss. An
# ASN promises customers the expected arrival plus HUB_SUPPLY_HANDLING_DAYS (receive, pick, ship;
# drop-ship goes straight to the customer and adds none).
HUB_RETURN_WINDOW_DAYS = env_int("HUB_RETURN_WINDOW_DAYS", 30, minimum=0)
HUB_RETURN_WINDOW_FROM = env_str("HUB_RETURN_WINDOW_FROM", "shipment").strip().lower()
if HUB_RETURN_WINDOW_FROM not in ("shipment", "invoice"):
    raise ImproperlyConfigured(f"HUB_RETURN_WINDOW_FROM={HUB_RETURN_WINDOW_FROM!r}: use 'shipment' or 'invoice'.")
HUB_SUPPLIER_DATE_TOLERANCE_DAYS = env_int("HUB_SUPPLIER_DATE_TOLERANCE_DAYS", 0, minimum=0)
# How far in the future a partner's "when it happened" time may be (its clock against the hub's):
# milestones, acknowledgements, ship notices and return receipts later than that are refused.
HUB_CLOCK_SKEW_SECONDS = env_int("HUB_CLOCK_SKEW_SECONDS", 300, minimum=0)
HUB_SUPPLY_HANDLING_DAYS = env_int("HUB_SUPPLY_HANDLING_DAYS", 1, minimum=0)

# Order process API (hub.workflows.orders; README "Process APIs"). Idempotency keys are kept at
# least 24 hours (a scheduled task purges older ones); a key held in_progress by an earlier version
# of the hub (which committed its claims) is taken over after HUB_IDEMPOTENCY_STALE_SECONDS. Promised dates:
# stock on hand ships HUB_DISPATCH_DAYS after the order; a shortage with no supply on order is
# promised HUB_SUPPLIER_LEAD_TIME_DAYS out (plus the handling days above).
HUB_IDEMPOTENCY_KEY_HOURS = env_int("HUB_IDEMPOTENCY_KEY_HOURS", 24, minimum=24)
HUB_IDEMPOTENCY_STALE_SECONDS = env_int("HUB_IDEMPOTENCY_STALE_SECONDS", 120, minimum=10)
HUB_DISPATCH_DAYS = env_int("HUB_DISPATCH_DAYS", 1, minimum=0)
HUB_SUPPLIER_LEAD_TIME_DAYS = env_int("HUB_SUPPLIER_LEAD_TIME_DAYS", 14, minimum=0)

# Customer onboarding (hub.workflows.onboarding; README "Customer onboarding and duplicates"). The CRM's
# customer writes (PUT /api/v1/systems/{system}/customers/{id} and the inbound customer.upsert message)
# go through this service: canonical and connectors cannot import the hub, so they find it here.
HUB_CUSTOMER_WRITE_SERVICE = "hub.workflows.onboarding.customer_onboard_upsert"
# The ERP's invoice writes (PUT /api/v1/systems/{system}/invoices/{id} and inbound invoice.posted) go
# through this service: a status that ends a dispute raised in the hub resolves its finance exception.
HUB_INVOICE_WRITE_SERVICE = "hub.workflows.disputes.invoice_settling_upsert"
# Exception categories worked on a page of their own: the exception's page in the queue links to it.
# {category: (button label, URL name taking the exception id)}. Those whose decision is made there
# cannot be resolved or ignored in the queue (connectors.services.exceptions.DECIDED_ELSEWHERE).
HUB_EXCEPTION_WORK_PAGES = {
    "duplicate_customer": ("Review the duplicates", "stewardship:duplicate-review"),
    "credit_hold": ("Release or reject in the credit-hold queue", "credit-hold-for-exception"),
}

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is a commitment for the whole domain that the operator makes, not a default we
# can choose for them; the check stays silent unless they opt in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_FORMAT = env_str("HUB_LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "hub.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    # Every line carries the correlation id of the request or task that wrote it.
    "filters": {
        "correlation": {"()": "hub.correlation.CorrelationIdFilter"},
        "permission_denied": {"()": "hub.logging.PermissionDeniedFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["correlation"]}},
    "root": {"handlers": ["console"], "level": env_str("HUB_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 is one warning line; Django would add the PermissionDenied traceback.
        "django.request": {"filters": ["permission_denied"]},
        "django_q": {"level": env_str("HUB_Q_LOG_LEVEL", "WARNING")},
        "django-q": {"level": env_str("HUB_Q_LOG_LEVEL", "WARNING")},  # django-q2 logs under this name
        # httpx logs every request at INFO; deliveries keep their own record of each attempt.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "hub@localhost")
