"""Helpers of the browser tests: signing in through the page, and screenshots kept as artifacts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from trials.definitions import current_version, definition_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def answer_checklist(page: Page, trial) -> None:
    """Click each radio as a person would, quickly; htmx saves the criteria one after another
    and sends each row back marked "Saved", with the outcome of the whole checklist."""
    eligibility = definition_of(current_version(trial.pk)).eligibility
    answers = [(c.code, "yes") for c in eligibility.inclusion]
    answers += [(c.code, "no") for c in eligibility.exclusion]
    for code, answer in answers:
        page.check(f"input[name='{code}-answer'][value={answer}]")
    for code, _ in answers:
        expect(page.locator(f"#criterion-{code} [role=status]")).to_have_text("Saved")
    expect(page.locator("#eligibility-outcome")).to_contain_text(
        "Every criterion is answered and the person is eligible."
    )
