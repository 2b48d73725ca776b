"""ChartInsight Studio settings, driven by environment variables (see `.env.example`).

Development defaults need no servers: SQLite under `var/`, and Celery on Redis when one answers at
127.0.0.1:6379, otherwise on Celery's filesystem transport under `var/celery/`. That fallback is
only for this zero-configuration local run: a configured broker is used as configured.
With `DEBUG` off, `SECRET_KEY` is required and `manage.py check --deploy` is clean.
"""

import socket
import ssl
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_HASHES
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Local state of a development run: SQLite database, logs, filesystem broker, demo login.
VAR_DIR = Path(env.str("VAR_DIR", default="") or BASE_DIR / "var")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY_MISSING = "SECRET_KEY must be set in the environment when DEBUG is off."
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(SECRET_KEY_MISSING)
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Render names the service's public host in the environment; admit it without a second setting.
RENDER_EXTERNAL_HOSTNAME = env.str("RENDER_EXTERNAL_HOSTNAME", default="")
if RENDER_EXTERNAL_HOSTNAME:
    ALLOWED_HOSTS.append(RENDER_EXTERNAL_HOSTNAME)
    CSRF_TRUSTED_ORIGINS.append(f"https://{RENDER_EXTERNAL_HOSTNAME}")
# Platform probes (/livez, /readyz) arrive with whatever Host the platform uses (a pod IP,
# `healthcheck.railway.app`): chartinsight.probes answers them before the host check.

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "csp",
    "accounts",
    "marketdata",
    "analysis",
    "labeling",
    "alerts",
]

MIDDLEWARE = [
    # First: answers the platform's liveness/readiness probes whatever their Host header.
    "chartinsight.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Language from the language cookie, then Accept-Language, then LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The user's saved language (wins over the above) and candle colours (request.candle_colors).
    "accounts.middleware.UserPreferencesMiddleware",
    # Database down: 503 JSON / a plain 503 page instead of a 500 (before the login check).
    "chartinsight.middleware.DatabaseUnavailableMiddleware",
    # Every page but the public ones (login, /healthz, static) requires login.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chartinsight.urls"
WSGI_APPLICATION = "chartinsight.wsgi.application"

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
                "django.template.context_processors.i18n",
                "marketdata.context_processors.data_source",
                "alerts.context_processors.unread_notifications",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The SQLite demo database is shared by web, worker and beat processes: WAL lets readers
    # run beside a writer, and writers wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt while the (username, address) pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "analysis:radar"
LOGOUT_REDIRECT_URL = "login"

# Korean first (docs/architecture.md, "Languages and colours"): the catalog is
# locale/ko/LC_MESSAGES/django.po (+ djangojs.po); the .mo files are built by `make run`,
# `make test` and the image (`compilemessages`), never committed.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True
# Figures shown to users group thousands explicitly (`|intcomma`, `|floatformat:"0g"`): a global
# USE_THOUSAND_SEPARATOR would also turn ids and bar positions in attributes into "1,234".

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# STATIC_MANIFEST: collectstatic writes hashed names with a gzip and a brotli copy beside each
# file (whitenoise's CompressedManifestStaticFilesStorage, with hashed URLs under DEBUG too:
# chartinsight.storage); whitenoise then serves the smaller
# encoding the browser accepts and caches hashed names for ten years ("immutable"). On without
# DEBUG (the image collects at build time); `make run` turns it on and collects at start, so a
# local run serves the same bytes as production. With DEBUG and no collectstatic (a developer's
# runserver) files come straight from static/ through the finders, uncompressed, max-age 0.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "chartinsight.storage.HashedStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests serve static files straight from static/ without collectstatic; so does `make run` for a
# file missing from the manifest (WHITENOISE_MANIFEST_STRICT off).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
WHITENOISE_MANIFEST_STRICT = False

# Security: strict by default; `.env.example` documents what a plain-HTTP local run relaxes.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp): everything from the project's own origin (static/ holds
# every script, including the vendored htmx and plotly.js; neither needs eval); an inline script
# would need the request's nonce (`{{ request.csp_nonce }}`; the header names it only on pages
# that use it). No inline style either, except what plotly.js itself inserts, each allowed by
# the hash of its exact text: an empty <style> it then fills through the CSSOM (its own rules),
# MapLibre's stylesheet, which the full bundle adds on load (map traces, unused here), and the
# `cursor:pointer` attribute it puts on a link in chart text. A different plotly.js build may
# change the MapLibre hash: the browser tests fail and the console message names the new one.
PLOTLY_EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
PLOTLY_MAPLIBRE_STYLE_HASH = "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='"
PLOTLY_LINK_STYLE_HASH = "'sha256-lGP/R5jOMXytzwBHVEM5Nv4XbT9fuH6V2dET/0dje2s='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, PLOTLY_EMPTY_STYLE_HASH, PLOTLY_MAPLIBRE_STYLE_HASH],
        "style-src-attr": [UNSAFE_HASHES, PLOTLY_LINK_STYLE_HASH],
        "img-src": [SELF, "data:"],  # plotly.js draws its PNG download through a data: image
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes; the login page and the admin login alike): LOGIN_FAILURE_LIMIT
# wrong passwords for one username from one address lock that pair out for LOGIN_LOCKOUT_MINUTES
# (each further try restarts the wait); a successful login clears the count. The address is
# REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the one they put in X-Forwarded-For.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "chartinsight.security.client_ip"
AXES_LOCKOUT_CALLABLE = "chartinsight.security.lockout_response"
# Failed attempts are kept (admin: Axes › Access attempts); a row per successful login is not.
AXES_DISABLE_ACCESS_LOG = True

# --- Redis, Celery -------------------------------------------------------------------------
# An explicitly configured broker (CELERY_BROKER_URL, else REDIS_URL) is used as given and never
# replaced: on a platform where web and worker run in separate containers, a silent fallback
# would leave tasks queued where no worker looks while /healthz stays green. Only the
# zero-configuration development run (DEBUG on, neither variable set) falls back to Celery's
# filesystem transport when no Redis answers at 127.0.0.1:6379.
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_URL_CONFIGURED = env.str("REDIS_URL", default="")
REDIS_URL = REDIS_URL_CONFIGURED or LOCAL_REDIS_URL


def _answers(url: str, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections at the host and port of `url`."""
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout
        ):
            return True
    except OSError:
        return False


# Every task is stopped after CELERY_TASK_TIME_LIMIT seconds (SoftTimeLimitExceeded at 90 %).
# Tasks are acknowledged when they end (acks_late), so the Redis broker hands a task whose worker
# died (kill -9, OOM, power) to another worker once it has been unacknowledged for
# CELERY_VISIBILITY_TIMEOUT seconds. That must exceed the longest a worker holds a task: its
# retry countdown plus its run time (at most the time limit), or a task would run twice. The
# longest countdown is the alert delivery's last backoff step (32 min, alerts/services.py
# `retry_delay`); ingestion retries after 60 s. Lost series are refetched sooner than this by
# the next collection (their locks lapse within MARKETDATA_SERIES_LOCK_SECONDS).
_LONGEST_COUNTDOWN = 32 * 60
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=10 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT * 9 // 10)
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + _LONGEST_COUNTDOWN + 180
)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT, or a task still running "
        "would be handed to a second worker"
    )

CELERY_FILESYSTEM_DIR = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "celery")))
if env.str("CELERY_BROKER_URL", default=""):
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
elif REDIS_URL_CONFIGURED or not DEBUG or _answers(REDIS_URL):
    CELERY_BROKER_URL = REDIS_URL
else:
    CELERY_BROKER_URL = "filesystem://"

CELERY_BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem")
if CELERY_BROKER_IS_FILESYSTEM:
    for sub in ("queue", "processed", "results", "control"):
        (CELERY_FILESYSTEM_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (
        f"file://{CELERY_FILESYSTEM_DIR / 'results'}"
    )
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # How often a worker looks for messages a lost worker left unacknowledged.
        "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 10)),
        "unacked_restore_throttle": 1,
    }
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or CELERY_BROKER_URL

# TLS to Redis (`rediss://` URLs, as managed key-value stores hand out): certificates are
# verified unless REDIS_SSL_CERT_REQS says `optional` or `none` (a provider with a private CA).
REDIS_SSL_CERT_REQS_CHOICES = {
    "required": ssl.CERT_REQUIRED,
    "optional": ssl.CERT_OPTIONAL,
    "none": ssl.CERT_NONE,
}
REDIS_SSL_CERT_REQS = env.str("REDIS_SSL_CERT_REQS", default="required").lower()
if REDIS_SSL_CERT_REQS not in REDIS_SSL_CERT_REQS_CHOICES:
    raise ImproperlyConfigured(
        f"REDIS_SSL_CERT_REQS must be one of {', '.join(REDIS_SSL_CERT_REQS_CHOICES)}."
    )
_redis_tls = {"ssl_cert_reqs": REDIS_SSL_CERT_REQS_CHOICES[REDIS_SSL_CERT_REQS]}
if CELERY_BROKER_URL.startswith("rediss://"):
    CELERY_BROKER_USE_SSL = _redis_tls
if CELERY_RESULT_BACKEND.startswith("rediss://"):
    CELERY_REDIS_BACKEND_USE_SSL = _redis_tls
# redis-py clients (Kiwoom token cache, rate limiter, locks) read the same choice from the URL.
if REDIS_URL.startswith("rediss://") and "ssl_cert_reqs=" not in REDIS_URL:
    REDIS_URL += f"{'&' if '?' in REDIS_URL else '?'}ssl_cert_reqs={REDIS_SSL_CERT_REQS}"

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Kiwoom --------------------------------------------------------------------------------
KIWOOM_SIMULATOR_PORT = env.int("KIWOOM_SIMULATOR_PORT", default=8765)
KIWOOM_BASE_URL = (
    env.str("KIWOOM_BASE_URL", default="") or f"http://127.0.0.1:{KIWOOM_SIMULATOR_PORT}"
).rstrip("/")
# The simulator accepts any non-empty key pair; the real API needs the keys issued by Kiwoom.
KIWOOM_APPKEY = env.str("KIWOOM_APPKEY", default="") or "simulator-appkey"
KIWOOM_SECRETKEY = env.str("KIWOOM_SECRETKEY", default="") or "simulator-secretkey"
KIWOOM_MAX_RPS = env.float("KIWOOM_MAX_RPS", default=3.0)
KIWOOM_TIMEOUT_SECONDS = env.float("KIWOOM_TIMEOUT_SECONDS", default=10.0)
KIWOOM_REAL_HOSTS = ("api.kiwoom.com", "mockapi.kiwoom.com")
# The "simulated market data" badge shows unless the base URL points at a Kiwoom host.
KIWOOM_IS_SIMULATOR = urlparse(KIWOOM_BASE_URL).hostname not in KIWOOM_REAL_HOSTS

# --- Alerts: e-mail and webhooks -----------------------------------------------------------
# E-mail goes to the console unless EMAIL_URL names a server, e.g.
# smtp+tls://user:password@smtp.example.com:587 (django-environ's email URL schemes).
vars().update(env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ChartInsight Studio <alerts@localhost>")
# The public address of the site, for links in e-mails and webhook bodies.
SITE_URL = env.str("SITE_URL", default="") or "http://127.0.0.1:8000"
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Empty = DEBUG. Off in production: a webhook URL resolving to a loopback/private/reserved
# address is refused (users must not make the server call its own network).
WEBHOOK_ALLOW_PRIVATE_HOSTS = (
    env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=DEBUG)
    if env.str("WEBHOOK_ALLOW_PRIVATE_HOSTS", default="")
    else DEBUG
)

# --- Analysis ------------------------------------------------------------------------------
# The swing detector shown wherever a user did not pick one (Radar, /api/radar, Scanner,
# statistics) and the one whose runs alerts evaluate: "atr" or "structural"
# (analysis.engine.DETECTORS; an unknown name stops Django at startup, analysis/apps.py).
ANALYSIS_DEFAULT_DETECTOR = env.str("ANALYSIS_DEFAULT_DETECTOR", default="atr")

# --- Market-data ingestion ------------------------------------------------------------------
# A series lock lives this long after its holder's last heartbeat (every third of it), so the
# lock of a worker that died frees the series within this time.
MARKETDATA_SERIES_LOCK_SECONDS = env.int("MARKETDATA_SERIES_LOCK_SECONDS", default=60)
# An ingestion run from which no series has reported for this long is marked abandoned.
MARKETDATA_RUN_DEADLINE_SECONDS = env.int("MARKETDATA_RUN_DEADLINE_SECONDS", default=60 * 60)

# --- Logging -------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Every login and failure is in the admin (Axes › Access attempts); the log keeps lockouts.
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


# Shown in logs and /healthz: the broker URL with any password masked.
CELERY_BROKER_DISPLAY = _redact(CELERY_BROKER_URL)
