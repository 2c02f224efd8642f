"""Deployment values are parsed strictly and production refuses unsafe settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecrf.settings.env import env_bool, env_int, env_list, parse_database_url

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 64


def test_env_bool_accepts_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "Yes")
    assert env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "off")
    assert env_bool("X_FLAG", True) is False
    monkeypatch.delenv("X_FLAG")
    assert env_bool("X_FLAG", True) is True


def test_env_bool_rejects_anything_else_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG", False)


def test_env_int_rejects_text_and_values_below_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM='ten' is not a whole number"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="X_NUM=0 is below 1"):
        env_int("X_NUM", 1, minimum=1)
    monkeypatch.setenv("X_NUM", "42")
    assert env_int("X_NUM", 1, minimum=1) == 42


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_LIST", " a.org, ,b.org ")
    assert env_list("X_LIST") == ["a.org", "b.org"]


def test_database_url_postgres_and_sqlite(tmp_path: Path) -> None:
    pg = parse_database_url(
        "postgres://ecrf:p%40ss@db.local:5433/ecrf?sslmode=require", base_dir=tmp_path
    )
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "ecrf",
        "ecrf",
        "p@ss",
        "db.local",
        "5433",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    relative = parse_database_url("sqlite:///var/x.db", base_dir=tmp_path)
    assert relative["NAME"] == str(tmp_path / "var/x.db")
    absolute = parse_database_url("sqlite:////srv/x.db", base_dir=tmp_path)
    assert absolute["NAME"] == "/srv/x.db"


def test_database_url_rejects_unknown_scheme_and_missing_name(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="scheme 'mysql' is not supported"):
        parse_database_url("mysql://x/y", base_dir=tmp_path)
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        parse_database_url("postgres://host/", base_dir=tmp_path)


def _import_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import ecrf.settings.production as p; "
            "print(p.SECURE_HSTS_SECONDS, p.SESSION_COOKIE_SECURE, p.SECURE_SSL_REDIRECT)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DEBUG": "true", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "ecrf.org"},
            "DEBUG must be off",
        ),
        ({"ALLOWED_HOSTS": "ecrf.org"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "ecrf.org"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS must name"),
        (
            {"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "ecrf.org", "DEBUG": "perhaps"},
            "is not a boolean",
        ),
    ],
)
def test_production_refuses_unsafe_values(env: dict[str, str], message: str) -> None:
    result = _import_production(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_turns_on_secure_transport() -> None:
    result = _import_production(SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="ecrf.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "True", "True"]


def test_time_zone_is_utc_and_aware(settings) -> None:
    assert settings.TIME_ZONE == "UTC"
    assert settings.USE_TZ is True
