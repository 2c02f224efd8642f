"""Screenshots of the main pages, for the README: `make screenshots`.

Builds the demo in a fresh SQLite database under a temporary ECRF_VAR_DIR, serves it on a free
local port with two-factor sign-in turned off, signs in through the login page as the demo
coordinator, monitor and investigator of MSVLE, and saves each page at two widths as
docs/screenshots/<page>-<width>.png. The server and the temporary directory are removed at the
end, whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.processes import free_port, running  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
WIDTHS = {1366: 768, 820: 1180}
# Tall pages are cut here, to keep the images small.
MAX_HEIGHT = 2000
TRIAL = "msvle"

# The records the pages show, found in the demo database once it is built.
FIND_IDS = """
import json
from casebook.catalogue import form_type
from trials.models import Participant
participant = Participant.objects.filter(trial__code="MSVLE").order_by("pk").first()
records = form_type("sledai2k").model.objects.filter(participant=participant)
record = records.order_by("pk").first()
print(json.dumps({"participant": participant.pk, "record": record.pk}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [str(PYTHON), "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def demo_passwords(seed_output: str) -> dict[str, str]:
    """The demo sign-ins seed_demo prints, one a line: `[*] username  password  description`."""
    found = re.findall(r"^[* ] (\S+)\s+(demo-\S+)\s", seed_output, flags=re.MULTILINE)
    return dict(found)


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(120):
        if server.poll() is not None:
            raise RuntimeError("The server stopped while starting.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError:
            # Health says 503 without a Celery worker beside it; the pages are served.
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"The server did not answer at {url}.")


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def capture(page: Page, path: str, name: str) -> None:
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(path, wait_until="networkidle")
        full = page.evaluate("document.documentElement.scrollHeight")
        target = OUT / f"{name}-{width}.png"
        page.screenshot(
            path=str(target),
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": min(max(full, height), MAX_HEIGHT)},
        )
        print(f"{target.relative_to(ROOT)}  {target.stat().st_size // 1024} KiB", flush=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ecrf-screenshots-") as var_dir:
        env = {
            **os.environ,
            "ECRF_VAR_DIR": var_dir,
            "DJANGO_SETTINGS_MODULE": "ecrf.settings.local",
            "TWO_FACTOR_REQUIRED_ROLES": "none",
        }
        for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        print("Building the demo database", flush=True)
        manage(env, "migrate", "--noinput")
        passwords = demo_passwords(manage(env, "seed_demo"))
        ids = json.loads(manage(env, "shell", "-c", FIND_IDS).strip().splitlines()[-1])
        participant, record = ids["participant"], ids["record"]
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with running(
            [str(PYTHON), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env,
            Path(var_dir) / "server.log",
        ) as server:
            wait_until_up(f"{base_url}/health/", server)
            pages = {
                f"{TRIAL}.coordinator.va01": [
                    ("/", "home"),
                    ("/casebook/", "trial-grid"),
                    (f"/trials/participants/{participant}/", "participant"),
                    (f"/casebook/{participant}/", "casebook"),
                    (f"/casebook/{participant}/charts/", "charts"),
                    (f"/casebook/{participant}/sledai2k/{record}/", "sledai2k-entry"),
                ],
                f"{TRIAL}.monitor.va01": [
                    (f"/review/participants/{participant}/sledai2k/{record}/", "review"),
                    ("/review/monitoring/", "monitoring"),
                ],
                f"{TRIAL}.investigator.va01": [("/review/sign/", "signing")],
            }
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--lang=en-GB",
                    ],
                )
                try:
                    for username, shots in pages.items():
                        context = browser.new_context(base_url=base_url, locale="en-GB")
                        page = context.new_page()
                        page.set_default_timeout(30_000)
                        sign_in(page, username, passwords[username])
                        for path, name in shots:
                            capture(page, path, name)
                        context.close()
                finally:
                    browser.close()


if __name__ == "__main__":
    main()
