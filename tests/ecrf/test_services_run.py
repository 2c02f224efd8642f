"""The deployed services' commands run for real: web (gunicorn), worker and beat."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.db import close_old_connections

from ecrf.celery import app as celery_app
from ecrf.models import Heartbeat
from ecrf.tasks import record_heartbeat
from tests.processes import ROOT, free_port, running, service_env, unique_queue, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
WORKER = ["scripts/serve.sh", "worker"]
BEAT = ["scripts/serve.sh", "beat"]


def _heartbeat_seen() -> bool:
    close_old_connections()
    return Heartbeat.objects.filter(name="worker").exists()


def test_compose_runs_these_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["web"]["command"] == ["scripts/serve.sh", "web"]
    assert services["worker"]["command"] == WORKER
    assert services["beat"]["command"] == BEAT
    assert all("healthcheck" in service for service in services.values())
    assert "pgdata" in compose["volumes"]


def test_real_worker_runs_a_task_end_to_end(tmp_path: Path) -> None:
    queue = unique_queue()
    env = service_env(CELERY_QUEUE=queue)
    log = tmp_path / "worker.log"
    with running(WORKER, env, log):
        record_heartbeat.apply_async(queue=queue)
        wait_until(_heartbeat_seen, timeout=90, what="the worker to record a heartbeat", log=log)
    assert "ecrf.tasks.record_heartbeat" in log.read_text()


def test_beat_schedules_and_worker_runs_the_periodic_job(tmp_path: Path) -> None:
    queue = unique_queue()
    env = service_env(CELERY_QUEUE=queue, CELERY_HEARTBEAT_SECONDS="1")
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    with running(WORKER, env, worker_log), running(BEAT, env, beat_log):
        wait_until(_heartbeat_seen, timeout=90, what="beat to schedule the heartbeat", log=beat_log)
    assert "Sending due task worker-heartbeat" in beat_log.read_text()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=5) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return 0, {}, b""


def test_web_serves_health_and_pages_under_production_settings(tmp_path: Path) -> None:
    port = free_port()
    env = service_env(
        DJANGO_SETTINGS_MODULE="ecrf.settings.production",
        SECRET_KEY="s" * 64,
        ALLOWED_HOSTS="127.0.0.1",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        ECRF_VAR_DIR=str(tmp_path / "var"),
    )
    log = tmp_path / "web.log"
    base = f"http://127.0.0.1:{port}"
    with running(["scripts/serve.sh", "web"], env, log):
        wait_until(
            lambda: _fetch(f"{base}/health/")[0] in (200, 503),
            timeout=120,
            what="gunicorn",
            log=log,
        )
        _, _, body = _fetch(f"{base}/health/")
        report = json.loads(body)
        assert report["checks"]["database"] == "ok"
        assert report["checks"]["broker"] == "ok"
        # Everything but /health/ is redirected from plain HTTP to HTTPS.
        status, headers, _ = _fetch(f"{base}/accounts/login/")
        assert status == 301
        assert headers["Location"] == f"https://127.0.0.1:{port}/accounts/login/"
        # Behind the TLS proxy the page renders, with its collected static files.
        request = urllib.request.Request(
            f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"}
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            page = reply.read().decode()
            assert "Strict-Transport-Security" in reply.headers
        assert "Sign in" in page
        css = page.split('href="')[1].split('"')[0]
        assert css.startswith("/static/css/app.") and css.endswith(".css")
        css_request = urllib.request.Request(base + css, headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(css_request, timeout=5) as reply:
            assert reply.status == 200


def test_broker_configuration_is_json_only() -> None:
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_time_limit > conf.task_soft_time_limit
