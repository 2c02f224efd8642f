"""Settings for the test suite: fast hashing, captured e-mail, real database and broker."""

from ecrf.settings.base import *  # noqa: F403
from ecrf.settings.base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A file, not memory, so that worker processes started by the tests share the test database.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# Most tests sign in with `force_login` and test what a role may do, not how it signs in.
# The two-factor tests turn the requirement on with the `settings` fixture; deployments and
# `make run` keep the default (base.py), which requires it.
TWO_FACTOR_REQUIRED_ROLES = []
# A replica alias that mirrors the primary, so the routing of long reads is tested for real;
# reads use it only where a test turns DATABASE_REPLICA_ALIAS on.
if "replica" not in DATABASES:
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
