"""The pregnancy-test window before an infusion: optional, a positive whole number of hours."""

from __future__ import annotations

import pytest

from trials.protocol import parse_protocol_file, parse_protocol_text

from .support import MINIMAL, TRIAL_A, TRIAL_B, assert_only_issue, break_key, replace_once

LIMITS = "  weight_soft_limits_kg: [40, 150]\n"


def test_absent_window_means_no_check() -> None:
    assert parse_protocol_text(MINIMAL).dosing.pregnancy_test_within_hours is None


def test_window_is_read_in_hours() -> None:
    text = replace_once(MINIMAL, LIMITS, LIMITS + "  pregnancy_test_within_hours: 48\n")
    assert parse_protocol_text(text).dosing.pregnancy_test_within_hours == 48


@pytest.mark.parametrize("value", ["0", "-24", "1.5", "'72'"])
def test_a_window_that_is_not_a_positive_whole_number_is_refused(value: str) -> None:
    text, line = break_key(LIMITS, LIMITS + f"  pregnancy_test_within_hours: {value}  # HERE\n")
    assert_only_issue(text, "dosing.pregnancy_test_within_hours", line, "")


@pytest.mark.parametrize("path", [TRIAL_A, TRIAL_B], ids=lambda p: p.stem)
def test_shipped_files_set_72_hours_and_say_it_is_assumed(path) -> None:
    dosing = parse_protocol_file(path).dosing
    assert dosing.pregnancy_test_within_hours == 72
    assert dosing.assumption is not None
    assert "72 hours before each infusion is assumed" in " ".join(dosing.assumption.split())
