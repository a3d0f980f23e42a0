"""Settings of the Flagsmith example.

Hashtrail is configured from the environment: HASHTRAIL_URL, HASHTRAIL_API_KEY
(an installation-wide ``ingest`` key: Flagsmith serves many organisations,
one Hashtrail tenant each) and HASHTRAIL_READ_KEY (an installation-wide
``read`` key for the audit views).
"""

import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = os.environ.get("FLAGSMITH_SECRET_KEY", "example-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "hashtrail.django.HashtrailConfig",
    "organisations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hashtrail.django.HashtrailMiddleware",
]

ROOT_URLCONF = "flagsmith.urls"
WSGI_APPLICATION = "flagsmith.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("FLAGSMITH_DB", os.path.join(BASE_DIR, "flagsmith.sqlite3")),
        # Each request is one transaction: record_on_commit sends its events
        # only when the request's changes commit.
        "ATOMIC_REQUESTS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
PASSWORD_HASHERS = os.environ.get(
    "FLAGSMITH_PASSWORD_HASHERS", "django.contrib.auth.hashers.PBKDF2PasswordHasher"
).split(",")

# Google, GitHub and the SAML IdP are simulated: their callbacks carry an
# identity signed with this shared secret (see organisations/sso.py).
SSO_SIMULATION_SECRET = os.environ.get("FLAGSMITH_SSO_SECRET", "sso-simulation-secret")

HASHTRAIL = {
    "URL": os.environ.get("HASHTRAIL_URL", "http://127.0.0.1:8080"),
    "API_KEY": os.environ.get("HASHTRAIL_API_KEY", ""),
    # No TENANT: the key is installation-wide, each event names its tenant.
    "TRUSTED_PROXIES": [p for p in os.environ.get("FLAGSMITH_TRUSTED_PROXIES", "127.0.0.1").split(",") if p],
    "SERVICE": {"name": "flagsmith", "version": "2.80.0"},
    # Sign-ins, sign-outs and failed sign-ins go to every organisation of the user.
    "USER_TENANTS": "organisations.audit.user_tenants",
    # A failed sign-in for an address nobody has goes to the platform's own tenant.
    "FALLBACK_TENANT": "flagsmith-platform",
    "CLIENT_OPTIONS": {"flush_interval": 0.05},
}
HASHTRAIL_READ_KEY = os.environ.get("HASHTRAIL_READ_KEY", "")

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"hashtrail": {"handlers": ["console"], "level": "WARNING"}},
}
