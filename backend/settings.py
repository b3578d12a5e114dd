"""Samby settings: one module, read from the environment (see README, "Configuration").

DJANGO_ENV is `local` (default: a developer's machine), `test` or `production`.
Production refuses to start without SECRET_KEY and ALLOWED_HOSTS, and with DEBUG on.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from backend.env import env_bool, env_int, env_list, env_str, parse_time_range

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_str("DJANGO_ENV", "local")
if DJANGO_ENV not in {"local", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be local, test or production.")
IS_PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", False)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")

if IS_PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma-separated) in production.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "local-development-key-not-for-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# A refused form says what to do, in the person's language (Django's page is technical).
CSRF_FAILURE_VIEW = "webapp.views.errors.csrf_failure"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if IS_PRODUCTION else None
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "backend.accounts.apps.AccountsConfig",
    "backend.community.apps.CommunityConfig",
    "backend.notifications.apps.NotificationsConfig",
    "backend.rides.apps.RidesConfig",
    "backend.stats.apps.StatsConfig",
    "backend.shuttle.apps.ShuttleConfig",
    "backend.carpool.apps.CarpoolConfig",
    "backend.sharing.apps.SharingConfig",
    "backend.audit.apps.AuditConfig",
    "dispatch.apps.DispatchConfig",
    "mobile_api",
    "webapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "webapp.middleware.MethodNotAllowedPage",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Inside the messages' middleware: it adds a message to the redirect it changes.
    "webapp.middleware.BackToTheFormAfterSignIn",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
WSGI_APPLICATION = None
# Threads per web process that run HTTP requests (backend/asgi_http.py). Each holds a
# database connection while it works: the production pool has as many (below). Two, not
# more: the threads of a process share one interpreter lock, and in the load test four
# stretched each other's requests (p99 221-312 ms against 177-190 ms with two, at the
# same rate; docs/performance.md, "Load test"). A request waiting on an outside service
# (the geocoder, up to GEOCODER_TIMEOUT) holds its thread: more web processes, not more
# threads, is the way to serve more at once.
WEB_THREADS = env_int("WEB_THREADS", 2)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webapp.context_processors.shell_links",
            ],
        },
    },
]

# --- Data stores -----------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "postgis://samby:samby@127.0.0.1:5432/samby")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Django's PostGIS backend; its connection pool checks connections without a round
        # trip (backend/database/base.py).
        engine="backend.database",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "backend.redis_pools.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "samby",
    }
}
# Sessions stay in the database only (Django's default): with a copy in Redis
# ("cached_db") every page read them without a query, but signing in and every page
# then failed while Redis was down, where the app must go on
# (tests/infra/test_celery_reliability.py).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 defaults socket_timeout to 5 s, shorter than channels-redis'
            # blocking pop: idle consumers would die every 5 s (channels_redis #422).
            # max_connections: redis-py 8 allows 100 connections at a time and refuses
            # the next at once (no waiting). When the proxy restarts or the network
            # fails, every socket of the process leaves its group at the same moment:
            # beyond 100 the leaving failed and the socket stayed in its group, sent
            # every event for a day. Connections a burst opened stay in the pool, idle.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": None,
                    "max_connections": env_int("CHANNEL_LAYER_MAX_CONNECTIONS", 2000),
                }
            ],
            "prefix": "samby",
            # Messages waiting per socket before channels-redis drops new ones without a
            # word (default 100). A phone that misses some still gets them by replay.
            "capacity": 1000,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Acknowledgement, time limits and the visibility timeout: below, "Celery: a task is
# acknowledged only when it has finished".
CELERY_TIMEZONE = "Europe/Stockholm"
CELERY_BEAT_SCHEDULE = {
    "send-due-reminders": {
        "task": "backend.notifications.tasks.send_due_reminders",
        "schedule": 60.0,
    },
    "dispatch-waiting-rides": {
        "task": "dispatch.tasks.dispatch_waiting_rides",
        "schedule": 120.0,
    },
    "forget-old-ride-addresses": {
        "task": "backend.rides.tasks.forget_old_addresses",
        "schedule": 24 * 3600.0,
    },
    "requeue-stale-deliveries": {
        "task": "backend.notifications.tasks.requeue_stale_deliveries",
        "schedule": 300.0,
    },
    "send-waiting-proxy-invitation-sms": {
        "task": "backend.accounts.tasks.send_waiting_proxy_invitation_sms",
        "schedule": 600.0,
    },
    "deliver-waiting-association-messages": {
        "task": "backend.community.tasks.deliver_waiting_association_messages",
        "schedule": 300.0,
    },
    "plan-tomorrow": {
        "task": "dispatch.tasks.plan_tomorrow",
        "schedule": crontab(hour=19, minute=0),  # CELERY_TIMEZONE: Stockholm
    },
}
# Tests may run tasks in-process; production always goes through the broker.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- People ----------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["backend.accounts.auth.PhoneOrEmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {
        # Django's default attributes are not ours: the forms say "not your name".
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["full_name", "email", "phone"]},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Phone numbers without a country code are read as Swedish.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "SE")
SILENCED_SYSTEM_CHECKS = [
    # The login field (phone) is unique only among people who can log in; a managed
    # profile may share a landline. The unique constraint is conditional.
    "auth.W004",
    # GDAL < 3.9 cannot block file/network access from spatial references. We never read
    # a spatial reference from input: every geometry is forced to SRID 4326.
    "gis.W001",
]

# --- Notifications ---------------------------------------------------------------------

# The address people reach Samby at; used in e-mails, SMS and push links.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
NOTIFY_QUIET_HOURS = parse_time_range(env_str("NOTIFY_QUIET_HOURS", "21:00-08:00"))
NOTIFY_MAX_RETRIES = env_int("NOTIFY_MAX_RETRIES", 5)
NOTIFY_RETRY_BACKOFF = env_int("NOTIFY_RETRY_BACKOFF", 30)  # seconds, doubled per retry
# Ids are given at insert, not at commit: a notification can commit after a newer one
# reached a phone. A reconnect (`/ws/?since=<id>`) therefore also gets the notifications
# at or below that id made up to this many seconds before it, and the clients drop ids
# they already have. Longer than any transaction that makes notifications can last (a
# Celery task is killed after CELERY_TASK_TIME_LIMIT, 900 s), plus the clock difference
# between the machines that make them.
NOTIFY_REPLAY_OVERLAP = env_int("NOTIFY_REPLAY_OVERLAP", 900)
if NOTIFY_REPLAY_OVERLAP < 0:
    raise ImproperlyConfigured("NOTIFY_REPLAY_OVERLAP must not be negative (seconds).")
SMS_DAILY_CAP = env_int("SMS_DAILY_CAP", 20)

# SMS: "console" writes to the log and SMS_CONSOLE_FILE; "elks" and "twilio" speak
# those providers' HTTP APIs at SMS_API_URL.
SMS_BACKEND = env_str("SMS_BACKEND", "console")
if SMS_BACKEND not in {"console", "elks", "twilio"}:
    raise ImproperlyConfigured("SMS_BACKEND must be console, elks or twilio.")
SMS_CONSOLE_FILE = Path(env_str("SMS_CONSOLE_FILE", str(BASE_DIR / "var" / "sms.log")))
SMS_API_URL = env_str("SMS_API_URL", "")
SMS_API_USERNAME = env_str("SMS_API_USERNAME", "")
SMS_API_PASSWORD = env_str("SMS_API_PASSWORD", "")
SMS_SENDER = env_str("SMS_SENDER", "Samby")
SMS_TIMEOUT = env_int("SMS_TIMEOUT", 10)
# Shared secret the provider sends with inbound SMS (in the webhook URL's ?secret=).
SMS_INBOUND_SECRET = env_str("SMS_INBOUND_SECRET", "" if IS_PRODUCTION else "local-sms-secret")
if SMS_BACKEND != "console" and not (SMS_API_URL and SMS_API_USERNAME and SMS_API_PASSWORD):
    raise ImproperlyConfigured("Set SMS_API_URL, SMS_API_USERNAME and SMS_API_PASSWORD.")

# Web Push (VAPID). Generate a pair with `manage.py generate_vapid_keys`.
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:drift@example.se")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Samby <noreply@example.se>")

# --- Geodata and volunteer rides ----------------------------------------------------------

# A Nominatim-compatible geocoder (https://host[/path]); empty: pick points on the map.
GEOCODER_URL = env_str("GEOCODER_URL", "")
GEOCODER_COUNTRY = env_str("GEOCODER_COUNTRY", "se")
GEOCODER_TIMEOUT = env_int("GEOCODER_TIMEOUT", 5)
GEOCODER_USER_AGENT = env_str("GEOCODER_USER_AGENT", "samby")
# An OSRM-compatible router (…/route/v1/driving/…); empty: geodesic x ROAD_FACTOR.
ROUTER_URL = env_str("ROUTER_URL", "")
ROUTER_TIMEOUT = env_int("ROUTER_TIMEOUT", 5)
ROAD_FACTOR = float(env_str("ROAD_FACTOR", "1.3"))
AVERAGE_SPEED_KMH = env_int("AVERAGE_SPEED_KMH", 50)
# Swedish tax-free mileage allowance: 25 kr per 10 km = 250 öre per km.
MILEAGE_RATE_ORE_PER_KM = env_int("MILEAGE_RATE_ORE_PER_KM", 250)
RIDES_OFFER_WAVE_SIZE = env_int("RIDES_OFFER_WAVE_SIZE", 3)
RIDES_OFFER_WAVES = env_int("RIDES_OFFER_WAVES", 3)
RIDES_OFFER_TIMEOUT = env_int("RIDES_OFFER_TIMEOUT", 300)  # seconds a wave waits
RIDES_WAVE_RADIUS_FACTOR = float(env_str("RIDES_WAVE_RADIUS_FACTOR", "1.5"))
RIDES_BOARDING_MINUTES = env_int("RIDES_BOARDING_MINUTES", 5)
# How early a driver may say they are on their way (before the planned pickup), and mark
# the passenger picked up or the ride completed: earlier is a mistake, not a ride.
RIDES_START_EARLY_MINUTES = env_int("RIDES_START_EARLY_MINUTES", 120)
RIDES_PICKUP_EARLY_MINUTES = env_int("RIDES_PICKUP_EARLY_MINUTES", 30)
RIDES_APPROXIMATE_GRID_M = env_int("RIDES_APPROXIMATE_GRID_M", 500)
RIDES_RETENTION_DAYS = env_int("RIDES_RETENTION_DAYS", 90)
RIDES_FAIRNESS_DAYS = env_int("RIDES_FAIRNESS_DAYS", 30)

# --- Language and time -----------------------------------------------------------------

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "backend" / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Stockholm"
USE_TZ = True

# --- Static files ----------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- API -------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "mobile_api.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "mobile_api.renderers.JSONRenderer",  # moments with the local offset
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "mobile_api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mobile_api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "120/min"),
        "user": env_str("THROTTLE_USER", "1200/min"),
        "login": env_str("THROTTLE_LOGIN", "10/min"),
        "login_identifier": env_str("THROTTLE_LOGIN_IDENTIFIER", "20/hour"),
    },
    # Proxies in front of the app (nginx: 1). Throttles key on the client address; with 0
    # they ignore X-Forwarded-For, which a client could set to anything.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Samby API",
    "DESCRIPTION": "Shared rides, volunteer drivers, cars, tools and rooms for rural communities.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "backend.community.models.Role",
        "ChannelEnum": "backend.notifications.models.Channel",
        "LanguageEnum": "backend.accounts.models.Language",
        "RideStateEnum": "backend.rides.models.RideState",
        "TimeKindEnum": "backend.rides.models.TimeKind",
        "ExceptionKindEnum": "backend.rides.models.ExceptionKind",
        "ClaimStateEnum": "backend.rides.models.ClaimState",
    },
}

# --- Logging ---------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json" if IS_PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "backend.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A worker's "<name>@<host> ready." line says it consumes: operators and
        # infra/multiproc.py wait for it, whatever LOG_LEVEL the rest logs at.
        "celery.apps.worker": {"level": "INFO"},
    },
}

# --- Carpooling -----------------------------------------------------------------------------

# How far from the route a search looks (metres): the largest walk or detour considered.
CARPOOL_CORRIDOR_M = env_int("CARPOOL_CORRIDOR_M", 5000)
CARPOOL_WALK_M = env_int("CARPOOL_WALK_M", 1000)  # default walk to or from the car
# A match may add at most this share of the driver's trip as detour, and must ride along
# at least this share of it (percent).
CARPOOL_MAX_DETOUR_PCT = env_int("CARPOOL_MAX_DETOUR_PCT", 25)
CARPOOL_MIN_SHARED_PCT = env_int("CARPOOL_MIN_SHARED_PCT", 35)
# The driver's cost per km (Skatteverket's 25 kr per 10 km), shared by driver and
# passengers; a passenger never pays more than CARPOOL_CAP_ORE_PER_KM / seats per km, so
# a full car never pays more than the trip costs.
CARPOOL_COST_ORE_PER_KM = env_int("CARPOOL_COST_ORE_PER_KM", 250)
CARPOOL_CAP_ORE_PER_KM = env_int("CARPOOL_CAP_ORE_PER_KM", 250)
CARPOOL_HORIZON_DAYS = env_int("CARPOOL_HORIZON_DAYS", 28)  # recurring trips, ahead
CARPOOL_SEARCH_LIMIT = env_int("CARPOOL_SEARCH_LIMIT", 20)
CARPOOL_APPROXIMATE_GRID_M = env_int("CARPOOL_APPROXIMATE_GRID_M", 1000)
CELERY_BEAT_SCHEDULE["carpool-materialise"] = {
    "task": "dispatch.tasks.carpool_extend_departures",
    "schedule": crontab(hour=2, minute=15),
}
CELERY_BEAT_SCHEDULE["carpool-advance"] = {
    "task": "backend.carpool.tasks.advance_occurrences",
    "schedule": 300.0,
}

# --- Resident web app ------------------------------------------------------------------

LOGIN_URL = "webapp:sign-in"
LOGIN_REDIRECT_URL = "webapp:home"
# Map tiles for Leaflet ({z}/{x}/{y}); pages work without them (addresses, coordinates).
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str(
    "MAP_TILE_ATTRIBUTION",
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
)
# Where the map starts when there is nothing to show yet (lon, lat): Vansbro.
MAP_CENTER = tuple(float(v) for v in env_list("MAP_CENTER", ["14.2246", "60.5089"]))
# Sign-in codes by SMS: seconds a code works; codes per phone number and per client
# address and hour.
LOGIN_CODE_TTL = env_int("LOGIN_CODE_TTL", 600)
LOGIN_CODES_PER_PHONE_HOUR = env_int("LOGIN_CODES_PER_PHONE_HOUR", 5)
LOGIN_CODES_PER_IP_HOUR = env_int("LOGIN_CODES_PER_IP_HOUR", 30)
# How often an on-duty driver's phone sends its position (seconds).
DRIVER_POSITION_INTERVAL = env_int("DRIVER_POSITION_INTERVAL", 15)

# --- Shop runs ---------------------------------------------------------------------------

# Occurrences exist this many days ahead (materialised daily by beat).
SHUTTLE_HORIZON_DAYS = env_int("SHUTTLE_HORIZON_DAYS", 28)
# Nobody is picked up earlier than this before the arrival at the shop.
SHUTTLE_PICKUP_WINDOW_MINUTES = env_int("SHUTTLE_PICKUP_WINDOW_MINUTES", 75)
# Getting in at each stop; a walker or a wheelchair takes longer.
SHUTTLE_BOARDING_MINUTES = env_int("SHUTTLE_BOARDING_MINUTES", 3)
SHUTTLE_BOARDING_EXTRA_MINUTES = env_int("SHUTTLE_BOARDING_EXTRA_MINUTES", 3)
# How long a freed seat is held for the first on the waitlist.
SHUTTLE_SEAT_OFFER_HOURS = env_int("SHUTTLE_SEAT_OFFER_HOURS", 12)
# Drivers a run is offered to at once; a second car costs this much driving (metres).
SHUTTLE_OFFER_DRIVERS = env_int("SHUTTLE_OFFER_DRIVERS", 5)
SHUTTLE_VEHICLE_FIXED_COST_M = env_int("SHUTTLE_VEHICLE_FIXED_COST_M", 5000)
# Day-before reminders go out at this local time (after the default sign-up deadline).
SHUTTLE_REMINDER_TIME = env_str("SHUTTLE_REMINDER_TIME", "18:30")
CELERY_BEAT_SCHEDULE.update(
    {
        "shuttle-materialise": {
            "task": "backend.shuttle.tasks.materialise_occurrences",
            "schedule": crontab(hour=3, minute=15),
        },
        "shuttle-expire-seat-offers": {
            "task": "backend.shuttle.tasks.expire_seat_offers",
            "schedule": 300.0,
        },
        "shuttle-plan-stale-runs": {
            "task": "dispatch.shop_run_tasks.plan_stale_runs",
            "schedule": 120.0,
        },
        "shuttle-offer-runs": {
            "task": "dispatch.shop_run_tasks.offer_runs_without_drivers",
            "schedule": crontab(hour=9, minute=0),
        },
    }
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "SignupStateEnum": "backend.shuttle.models.SignupState",
        "OccurrenceStateEnum": "backend.shuttle.models.OccurrenceState",
        "OutcomeEnum": "backend.shuttle.models.Outcome",
    }
)

# --- Volunteer rides: materialised availability (backend/rides/availability.py) ----------

# Days ahead for which drivers' availability windows are built; rides further ahead are
# matched from the weekly slots directly (same answer, slower).
RIDES_AVAILABILITY_DAYS = env_int("RIDES_AVAILABILITY_DAYS", 28)
CELERY_BEAT_SCHEDULE["roll-availability-windows"] = {
    "task": "backend.rides.tasks.roll_availability_windows",
    "schedule": crontab(minute=5),  # hourly; a missed night is caught up within the hour
}

# --- Municipality statistics (backend/stats; docs/privacy-statistics.md) ----------------

# Figures that count fewer people than this are withheld (with complementary suppression).
STATS_K_ANONYMITY = env_int("STATS_K_ANONYMITY", 5)
if STATS_K_ANONYMITY < 2:
    raise ImproperlyConfigured("STATS_K_ANONYMITY must be at least 2.")
# A person served counts as elderly from the year they turn this age.
STATS_ELDERLY_AGE = env_int("STATS_ELDERLY_AGE", 65)
# H3 resolution of the unmet-demand map (7: cells of about 5 km2); rebuild after a change.
STATS_H3_RESOLUTION = env_int("STATS_H3_RESOLUTION", 7)
# Incremental refresh every STATS_REFRESH_SECONDS; changes from this many seconds before
# the previous refresh are looked at again (transactions that committed late).
STATS_REFRESH_SECONDS = env_int("STATS_REFRESH_SECONDS", 600)
STATS_REFRESH_OVERLAP = env_int("STATS_REFRESH_OVERLAP", 900)
# PostgreSQL work_mem for the statistics queries only (a year's people hash in memory).
STATS_WORK_MEM = env_str("STATS_WORK_MEM", "64MB")
# CO2 avoided = passenger km x the alternative's grams per passenger km (per service)
#             - vehicle km x the grams per km of the cars used (see the privacy doc).
STATS_CO2_VEHICLE_G_PER_KM = env_int("STATS_CO2_VEHICLE_G_PER_KM", 130)
STATS_CO2_ALTERNATIVE_G_PER_PKM = {
    service.strip(): int(grams)
    for service, grams in (
        item.split("=", 1)
        for item in env_list(
            "STATS_CO2_ALTERNATIVE_G_PER_PKM",
            ["rides=130", "carpool=130", "shuttle=130", "sharing=130"],
        )
    )
}
CELERY_BEAT_SCHEDULE["stats-refresh"] = {
    "task": "backend.stats.tasks.refresh_statistics",
    "schedule": float(STATS_REFRESH_SECONDS),
}
CELERY_BEAT_SCHEDULE["stats-rebuild"] = {
    "task": "backend.stats.tasks.rebuild_statistics",
    "schedule": crontab(hour=3, minute=30),  # CELERY_TIMEZONE: Stockholm
}
# --- Shared cars, tools and rooms ---------------------------------------------------------------

# Fair use: holding bookings per person at a time, booked days per person and month
# (0: no limit), and how far ahead bookings open.
SHARING_MAX_ACTIVE_BOOKINGS = env_int("SHARING_MAX_ACTIVE_BOOKINGS", 5)
SHARING_MAX_DAYS_PER_MONTH = env_int("SHARING_MAX_DAYS_PER_MONTH", 10)
SHARING_MAX_DAYS_AHEAD = env_int("SHARING_MAX_DAYS_AHEAD", 180)
SHARING_CHECKOUT_EARLY_MINUTES = env_int("SHARING_CHECKOUT_EARLY_MINUTES", 30)
SHARING_REMINDER_HOURS = env_int("SHARING_REMINDER_HOURS", 24)
SHARING_OVERDUE_REMINDER_MINUTES = env_int("SHARING_OVERDUE_REMINDER_MINUTES", 60)
SHARING_NOTE_NEXT_BOOKERS = env_int("SHARING_NOTE_NEXT_BOOKERS", 3)
# A resident's own thing is shown on a grid this coarse until someone has a booking.
SHARING_APPROXIMATE_GRID_M = env_int("SHARING_APPROXIMATE_GRID_M", 500)
SHARING_PHOTO_MAX_PX = env_int("SHARING_PHOTO_MAX_PX", 1600)
SHARING_PHOTO_MAX_BYTES = env_int("SHARING_PHOTO_MAX_BYTES", 15 * 1024 * 1024)
SHARING_PHOTOS_PER_RESOURCE = env_int("SHARING_PHOTOS_PER_RESOURCE", 8)
# Uploaded files: the file system under MEDIA_ROOT, or S3-compatible storage through
# django-storages (MEDIA_STORAGE=s3; needs boto3, and the AWS_* variables below).
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "filesystem")
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "") or None,
            "default_acl": None,
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", True),
            "file_overwrite": False,
        },
    }
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured("MEDIA_STORAGE must be filesystem or s3.")
CELERY_BEAT_SCHEDULE["sharing-mark-overdue"] = {
    "task": "backend.sharing.tasks.mark_overdue_bookings",
    "schedule": 300.0,
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ResourceKindEnum": "backend.sharing.models.ResourceKind",
        "BookingStatusEnum": "backend.sharing.models.BookingStatus",
        "ApprovalModeEnum": "backend.sharing.models.ApprovalMode",
        "FuelEnum": "backend.sharing.models.Fuel",
        "ProblemKindEnum": "backend.sharing.models.ProblemKind",
    }
)
# --- Production hardening and Celery reliability (docs/deployment.md) -------------------

# Behind nginx (NUM_PROXIES >= 1) the proxy terminates TLS and says so in
# X-Forwarded-Proto; without a proxy nobody may claim HTTPS with that header.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if REST_FRAMEWORK["NUM_PROXIES"] else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", IS_PRODUCTION)
# Probes (load balancer, Kubernetes) ask over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", IS_PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", IS_PRODUCTION)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", IS_PRODUCTION)
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# Django's database sessions, read with a prepared statement (backend/accounts/sessions.py).
SESSION_ENGINE = "backend.accounts.sessions"
if IS_PRODUCTION and not CSRF_TRUSTED_ORIGINS and SITE_URL.startswith("https://"):
    # The public address is the one origin forms are posted from.
    CSRF_TRUSTED_ORIGINS = [SITE_URL.rstrip("/")]

# CORS is off (no header sent) unless origins are listed: other sites' pages may then
# call /api/ with a token, never with the session cookie.
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
    "corsheaders.middleware.CorsMiddleware",
)
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

# Celery: a task is acknowledged only when it has finished, so a worker killed mid-task
# (SIGKILL, OOM, lost node) leaves it to run again; every task is written to be safe to
# run twice. A message not acknowledged within CELERY_VISIBILITY_TIMEOUT seconds goes back
# to the queue; the hard time limit is well below it, so a stuck task is killed before
# a second copy could start beside it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
# Workers sweep for messages abandoned by a dead worker about ten times per timeout
# (kombu's defaults for the one-hour timeout: every 10 s x 10 = 100 s).
_RESTORE_EVERY = max(1, min(100, CELERY_VISIBILITY_TIMEOUT // 10))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": min(10, _RESTORE_EVERY),
    "unacked_restore_throttle": max(1, _RESTORE_EVERY // 10),
}
# A countdown task (the offer wave's timeout) waits unacknowledged in the worker: were
# the visibility timeout shorter, Redis would hand it out again and again meanwhile.
if RIDES_OFFER_TIMEOUT >= CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must be longer than RIDES_OFFER_TIMEOUT (seconds)."
    )
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", min(900, CELERY_VISIBILITY_TIMEOUT // 2))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30 if CELERY_TASK_TIME_LIMIT > 60 else None
# A task that raised (after its own retries) is acknowledged and logged as a dead letter
# by backend.celery_signals, not redelivered for ever.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for Redis rather than exit
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Celery's Django fix-up closes every database connection, and the pool with them, before
# and after each task, unless told to keep them for this many tasks: then each task
# started a new PostgreSQL server process, which loads its catalog caches and PostGIS
# anew (about 50 ms of database CPU for a dispatch, docs/performance.md). Workers hand
# their connections back after each task like web processes after each request
# (backend/celery_signals.py); the fix-up still starts afresh after this many tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 500)

# Rate limits that let requests through while Redis is down (mobile_api/throttles.py).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "mobile_api.throttles.AnonRateThrottle",
    "mobile_api.throttles.UserRateThrottle",
]

# Open data (GBFS feed of the shared cars). The secret keys the rotating vehicle ids and
# the station ids; it must never be published. Ranges are published as max_range_meters
# (GBFS requires one for motorised vehicles; the cars' own range is not recorded).
GBFS_VEHICLE_ID_SECRET = env_str("GBFS_VEHICLE_ID_SECRET", "gbfs-" + SECRET_KEY)
GBFS_FEED_CONTACT_EMAIL = env_str("GBFS_FEED_CONTACT_EMAIL", "opendata@example.se")
GBFS_RANGE_M = {
    "electric": env_int("GBFS_RANGE_ELECTRIC_M", 250_000),
    "combustion": env_int("GBFS_RANGE_COMBUSTION_M", 600_000),
}

# --- Open data: shop runs as GTFS-Flex -----------------------------------------------------

# The feed lists the runs of this many days ahead (occurrences that exist, and beyond
# them the dates the schedules' rules give).
GTFS_FLEX_HORIZON_DAYS = env_int("GTFS_FLEX_HORIZON_DAYS", 56)
# A village without a drawn area is served within this radius of its centre (less when
# another village is nearer than twice this).
GTFS_FLEX_VILLAGE_RADIUS_M = env_int("GTFS_FLEX_VILLAGE_RADIUS_M", 3000)

# --- Privacy: export, erasure, retention (backend/privacy; docs/privacy.md) -----------------

INSTALLED_APPS += ["backend.privacy.apps.PrivacyConfig"]
# Retention (backend/privacy/retention.py): how long exact places, free text, messages and
# the audit log are kept. RIDES_RETENTION_DAYS is above, with the volunteer rides.
CARPOOL_RETENTION_DAYS = env_int("CARPOOL_RETENTION_DAYS", 90)  # after the pickup time
SHUTTLE_RETENTION_DAYS = env_int("SHUTTLE_RETENTION_DAYS", 90)  # after the run
SHARING_RETENTION_DAYS = env_int("SHARING_RETENTION_DAYS", 180)  # after the booking's end
DRIVER_POSITION_RETENTION_MINUTES = env_int("DRIVER_POSITION_RETENTION_MINUTES", 60)
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 365)
SMS_RETENTION_DAYS = env_int("SMS_RETENTION_DAYS", 90)
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 730)
# A request to help sent to a number nobody uses Samby with (accounts.ProxyInvitation):
# removed when unanswered this long; whoever signs up with the number later is not asked.
PROXY_INVITATION_DAYS = env_int("PROXY_INVITATION_DAYS", 30)
for _name in (
    "RIDES_RETENTION_DAYS",
    "CARPOOL_RETENTION_DAYS",
    "SHUTTLE_RETENTION_DAYS",
    "SHARING_RETENTION_DAYS",
    "NOTIFICATION_RETENTION_DAYS",
    "SMS_RETENTION_DAYS",
    "AUDIT_RETENTION_DAYS",
    "PROXY_INVITATION_DAYS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1 (days).")
if DRIVER_POSITION_RETENTION_MINUTES < 15:
    # Dispatch uses an on-duty driver's position for 15 minutes (dispatch/matching.py).
    raise ImproperlyConfigured("DRIVER_POSITION_RETENTION_MINUTES must be at least 15.")
CELERY_BEAT_SCHEDULE["privacy-forget-old-personal-data"] = {
    "task": "backend.privacy.tasks.forget_old_personal_data",
    "schedule": crontab(hour=4, minute=10),  # CELERY_TIMEZONE: Stockholm
}
CELERY_BEAT_SCHEDULE["privacy-drop-stale-driver-positions"] = {
    "task": "backend.privacy.tasks.drop_stale_driver_positions",
    "schedule": 600.0,
}

# Shop-run planning (dispatch/shop_runs.py): a planner holds a run's lease while it solves;
# a planner that died is replaced once the lease expires (longer than any solve, with the
# router's time-outs). A plan dropped because the run changed meanwhile is made again, at
# most this many times in one go; after that the beat sweep carries on.
SHUTTLE_PLAN_LEASE_SECONDS = env_int("SHUTTLE_PLAN_LEASE_SECONDS", 300)
SHUTTLE_PLAN_ATTEMPTS = env_int("SHUTTLE_PLAN_ATTEMPTS", 3)

# Poison messages (backend/task_deliveries.py): a task message handed out more than this
# many times (its worker died running it each time) is dead-lettered, not run again.
CELERY_MAX_DELIVERIES = env_int("CELERY_MAX_DELIVERIES", 5)

# Bookings made per person and window (rides, carpool seats, shared things, shop-run
# seats; API and web pages on one counter: backend/rate_limits.py). Requests that book
# nothing (a 400, 404 or 409) do not count. A coordinator booking
# for callers on the console's phone page is not limited.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["booking"] = env_str("THROTTLE_BOOKING", "30/hour")
# Links confirming an e-mail address (backend/accounts/email_confirmation.py): asked per
# person and per address alike, so nobody can flood a mailbox; valid EMAIL_LINK_DAYS.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["email_link"] = env_str("THROTTLE_EMAIL_LINK", "5/hour")
EMAIL_LINK_DAYS = env_int("EMAIL_LINK_DAYS", 7)
# A sign-in link e-mailed to a confirmed address (backend/accounts/email_sign_in.py) works
# once, for this many seconds.
SIGN_IN_LINK_TTL = env_int("SIGN_IN_LINK_TTL", 3600)
# Asking someone to help (POST /api/v1/proxy-links/): a number without an account gets an
# SMS, so this is per person and low; it counts every request alike, known number or not.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["proxy_request"] = env_str(
    "THROTTLE_PROXY_REQUEST", "10/day"
)

# --- Database connections in production (docs/performance.md, "Load test") -------------
# Without a pool every request opens a PostgreSQL connection of its own (a new server
# process each time): in the load test that cost more CPU than the requests themselves
# and /healthz could not keep 300 a second. Production keeps a small pool per process by
# default: one connection per request thread (WEB_THREADS), and one for the websockets,
# whose database work (signing in, the replay of missed notifications) runs on one
# thread of its own (asgiref's for thread-sensitive calls). A request waits up to
# DATABASE_POOL_TIMEOUT seconds for one. With a connection per thread nobody waits for
# another request, only for PostgreSQL: while it is down, each request waits this long
# before its 503, so it is short. DATABASE_POOL_MAX_SIZE=0 turns the pool off.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", WEB_THREADS + 1 if IS_PRODUCTION else 0)
if DATABASE_POOL_MAX_SIZE and "pool" not in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections, not Django
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }

# OpenAPI: every operation documents the API's error responses, and TimeFields their
# local "HH:MM" shape (mobile_api/schema.py).
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "mobile_api.schema.document_errors",
]
