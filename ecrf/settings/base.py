"""Settings shared by every deployment; deployment values come from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from ecrf.settings.env import env_bool, env_int, env_list, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("ECRF_VAR_DIR", str(BASE_DIR / "var")))
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-key-never-use-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "ecrf.apps.TrialAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_celery_beat",
    "ecrf.apps.EcrfConfig",
    "accounts",
    "trials",
    "visits",
    "assessments",
    "safety",
    "coding",
    "alerts",
    "flagging",
    "review",
    "casebook",
    "exports",
    "archive",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the user, their language and messages are known; before any page or API view.
    "accounts.middleware.TwoFactorMiddleware",
    # Pages and API routes about one participant read and show times on their site's clock.
    "casebook.site_clock.SiteClockMiddleware",
    "ecrf.errors.DomainErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ecrf.urls"
WSGI_APPLICATION = "ecrf.wsgi.application"

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
                "trials.context_processors.workspace",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ecrf.sqlite3'}"), base_dir=BASE_DIR
    )
}
# A read replica for long reads (exports), when DATABASE_REPLICA_URL names one: see
# ecrf/db_routing.py. Its tests read the primary through Django's test mirror.
DATABASE_REPLICA_ALIAS = None
_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if _REPLICA_URL:
    DATABASES["replica"] = parse_database_url(_REPLICA_URL, base_dir=BASE_DIR)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_REPLICA_ALIAS = "replica"
DATABASE_ROUTERS = ["ecrf.db_routing.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# A reason for a change is as long as the person needs; simple-history keeps 100 characters
# unless told otherwise.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# An invitation's link to choose a password works once, for this long.
PASSWORD_RESET_TIMEOUT = env_int("INVITATION_VALID_HOURS", 72, minimum=1) * 3600
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after a period of inactivity: every request pushes the expiry forward.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
# Lock the account, not the address: hospital staff often share one outbound address.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Two-factor authentication (TOTP with single-use recovery codes). Sessions of users holding
# one of these roles (role codes, and `superuser` for platform operators) must be verified with
# a code; `none` turns the requirement off. Anyone may still set it up, and then must use it.
TWO_FACTOR_REQUIRED_ROLES = env_list(
    "TWO_FACTOR_REQUIRED_ROLES",
    ["investigator", "pharmacist", "unblinded_statistician", "trial_admin", "superuser"],
)
if [role.lower() for role in TWO_FACTOR_REQUIRED_ROLES] == ["none"]:
    TWO_FACTOR_REQUIRED_ROLES = []
# Whether a user holds one of some roles, `(user, roles) -> bool`: roles come from memberships,
# which live in trials, above accounts, so accounts calls it by this name (as the middleware
# and the URLs are named), not by an import.
TWO_FACTOR_ROLE_CHECK = "trials.access.holds_role"
# What the records a signature or a lock would cover still lack, as sentences (`(*,
# participant, record, visit) -> list[str]`): the forms say it, and they live above review.
REVIEW_READY_CHECK = "casebook.readiness.records_not_ready"
# What a signature would cover that is still outstanding (forms missing, open queries, forms
# not source-verified), as sentences: signing over any of them needs an acknowledgement.
REVIEW_OUTSTANDING_CHECK = "casebook.outstanding.outstanding_sentences"
# The eligibility checklist (trials) checks its answers against the entered forms, which sit
# above it: this names the function that reads them.
ELIGIBILITY_SOURCE_CHECK = "assessments.eligibility.eligibility_source_checks"
# After an infusion is saved, `(*, participant, actor, now)`: the adverse events' DLT flags read
# the infusion days, and adverse events live in safety, above the infusion form.
DOSE_LIMITING_RECOMPUTE = "safety.services.dose_limiting_recompute"
# The dose-limiting toxicities of a cohort, `(user, cohort) -> CohortDlts`: adverse events live
# in safety, above trials, so the cohort review in trials calls it by this name.
COHORT_DLT_SUMMARY = "safety.selectors.cohort_dlts"
OTP_TOTP_ISSUER = "eCRF"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# API tokens live this many days at most; a token may be asked for a shorter life.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, minimum=1)
# Content-Security-Policy: every page loads scripts, styles, images and fonts from this site
# only; no inline script, event handler or style attribute runs; no page may be framed; forms
# post here only. The API docs widen it for themselves (ecrf.api_docs), and a chart's SVG
# allows its own inline styles (casebook.chart_views).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ecrf@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a refused token answers 401 with a WWW-Authenticate header.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "ecrf.schema.AutoSchema",
    "EXCEPTION_HANDLER": "ecrf.errors.api_exception_handler",
    # Every list: ?limit=&offset=, 100 rows unless asked, never more than 500 (ecrf.pagination).
    "DEFAULT_PAGINATION_CLASS": "ecrf.pagination.Pagination",
    "PAGE_SIZE": 100,
}
# The OpenAPI schema and docs show every endpoint: for signed-in users unless made public.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "eCRF API",
    "DESCRIPTION": (
        "Electronic case report forms for randomized, blinded trials. Authenticate with a "
        "session or with `Authorization: Token <key>`; blinded users never receive "
        "allocation-revealing fields."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Serve the interactive docs' assets from this site, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # A form route, the form's code in its path, is listed once per form.
    "PREPROCESSING_HOOKS": ["casebook.forms_schema.one_route_per_form"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Blinded roles do not receive a form's allocation-revealing fields: none is required.
        "casebook.forms_schema.withheld_fields_optional",
    ],
    # Choice sets that several models share keep one clear name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ParticipantStatusEnum": "trials.models.ParticipantStatus",
        "VisitStatusEnum": "visits.models.VisitStatus",
        "CohortStatusEnum": "trials.models.CohortStatus",
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "EntryStatusEnum": "assessments.models.base.EntryStatus",
        "DeviationCategoryEnum": "assessments.models.deviation.DeviationCategory",
        "MedicationCategoryEnum": "assessments.models.conmed.MedicationCategory",
        "CausalityEnum": "safety.models.Causality",
        "RangeFlagEnum": "assessments.models.labs.RangeFlag",
        "QueryStatusEnum": "review.models.QueryStatus",
        "EndStatusEnum": "assessments.models.end_of_study.EndStatus",
    },
}

# Celery: an embedded filesystem broker by default, Redis when CELERY_BROKER_URL says so.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_folder = VAR_DIR / "broker"
    # kombu does not create its folders; a missing one would fail at the first message.
    (_broker_folder / "control").mkdir(parents=True, exist_ok=True)
    # Producers and consumers share one folder; each message is a file in it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder),
        "data_folder_out": str(_broker_folder),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Deployments sharing one Redis keep apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "ecrf")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_HEARTBEAT_SECONDS = env_int("CELERY_HEARTBEAT_SECONDS", 30, minimum=1)
# A worker is reported down when no heartbeat ran for this long.
WORKER_STALE_AFTER_SECONDS = env_int("WORKER_STALE_AFTER_SECONDS", 180, minimum=1)
FLAG_INTERVAL_SECONDS = env_int("FLAG_INTERVAL_SECONDS", 300, minimum=1)
# The review queue counts afresh the participants changed since its stored counts were refreshed.
REVIEW_BACKLOG_INTERVAL_SECONDS = env_int("REVIEW_BACKLOG_INTERVAL_SECONDS", 60, minimum=1)
# Exports: files shared by the worker that writes them and the web that serves them.
EXPORTS_DIR = Path(env_str("EXPORTS_DIR", str(VAR_DIR / "exports")))
# A queue of their own lets long exports have workers of their own; empty: the default queue.
EXPORT_QUEUE = env_str("EXPORT_QUEUE", "")
EXPORT_TASK_SOFT_TIME_LIMIT = env_int("EXPORT_TASK_SOFT_TIME_LIMIT", 4 * 3600, minimum=60)
# /health/ warns when a periodic job has not run for this many of its intervals.
JOB_STALE_AFTER_INTERVALS = 3
# The periodic jobs, declared here so that every deployment runs the same set.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "ecrf.tasks.record_heartbeat",
        "schedule": timedelta(seconds=CELERY_HEARTBEAT_SECONDS),
    },
    "flag-visits": {
        "task": "visits.flag_visits",
        "schedule": timedelta(seconds=FLAG_INTERVAL_SECONDS),
        # A run left in the queue past the next one is redundant: the next covers it.
        "options": {"expires": FLAG_INTERVAL_SECONDS},
    },
    "fail-stale-exports": {
        "task": "exports.fail_stale",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 15 * 60},
    },
    "fail-stale-site-archives": {
        "task": "archive.fail_stale",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 15 * 60},
    },
    "refresh-review-backlog": {
        "task": "casebook.refresh_review_backlog",
        "schedule": timedelta(seconds=REVIEW_BACKLOG_INTERVAL_SECONDS),
        "options": {"expires": REVIEW_BACKLOG_INTERVAL_SECONDS},
    },
    "flag-late-reports": {
        "task": "safety.flag_late_reports",
        "schedule": timedelta(seconds=FLAG_INTERVAL_SECONDS),
        "options": {"expires": FLAG_INTERVAL_SECONDS},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every step of every page it prints at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
