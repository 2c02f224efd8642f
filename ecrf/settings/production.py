"""Settings for a deployed site: refuses to start with unsafe values."""

from django.core.exceptions import ImproperlyConfigured

from ecrf.settings.base import *  # noqa: F403
from ecrf.settings.base import DEBUG, SECRET_KEY
from ecrf.settings.env import env_bool, env_int, env_list

MIN_SECRET_KEY_LENGTH = 50

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (set DEBUG=false).")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
    raise ImproperlyConfigured(
        f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
        "characters in production."
    )
# No default here: a deployment names its hosts explicitly.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the host(s) this site serves.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# /health/ answers probes over plain HTTP inside the deployment network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
