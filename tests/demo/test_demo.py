"""The demo load: both protocols, staff for every role, participants in various states."""

from __future__ import annotations

from collections import Counter

from demo.seed import demo_load
from ecrf.access import Role
from trials.models import Membership, Participant


def test_demo_loads_a_living_trial_once(db) -> None:
    protocols, logins, counts = demo_load()
    assert protocols == ["MSVLE v1.6", "MSCROLE v1.6"]
    assert counts == {"MSCROLE": 5, "MSVLE": 6}
    states = Counter(
        Participant.objects.filter(trial__code="MSVLE").values_list("status", flat=True)
    )
    assert states == Counter(
        {"on_study": 2, "eligible": 1, "screen_failed": 1, "screening": 1, "withdrawn": 1}
    )
    enrolled = Participant.objects.filter(trial__code="MSCROLE", cohort__code="C1").count()
    assert enrolled == 2
    # Every role of every trial has a sign-in, and every password is printed once.
    for code in ("MSVLE", "MSCROLE"):
        assert set(
            Membership.objects.filter(trial__code=code).values_list("role", flat=True)
        ) == set(Role.values)
    assert len({login.password for login in logins}) == len(logins)
    on_study = Participant.objects.filter(trial__code="MSVLE", status="on_study").first()
    assert on_study.visits.filter(status="completed").exists()

    _, _, again = demo_load()
    assert again == {"MSCROLE": 0, "MSVLE": 0}
    assert Participant.objects.count() == 11
