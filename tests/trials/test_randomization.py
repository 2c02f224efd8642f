"""Allocation lists (generated and imported) and concealed randomization, including concurrency."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from tests.personas import NOW, PROTOCOLS
from tests.world import SEED, make_eligible, register, with_allocation
from trials import allocation
from trials.identifiers import is_valid_subject_identifier
from trials.models import AllocationList, AllocationSlot, Participant, ParticipantStatus
from trials.protocol import parse_protocol_text
from trials.services import (
    allocation_generate,
    allocation_import,
    participant_randomize,
    protocol_load,
)

ARMS = [allocation.Arm("MSC", 1), allocation.Arm("PLACEBO", 1)]
HEADER = "stratum,sequence,block_number,block_size,arm,randomization_number"


def lines_by_stratum(lines: list[allocation.Line]) -> dict[str, list[allocation.Line]]:
    grouped: dict[str, list[allocation.Line]] = defaultdict(list)
    for line in lines:
        grouped[line.stratum].append(line)
    return grouped


# The pure generator ------------------------------------------------------------------------


def test_same_seed_gives_the_same_list_and_another_seed_another() -> None:
    kwargs = {"arms": ARMS, "block_sizes": [2, 4], "strata": ["site=VA01"], "per_stratum": 40}
    first = allocation.generate(seed=SEED, **kwargs)
    assert allocation.generate(seed=SEED, **kwargs) == first
    other = allocation.generate(seed=SEED[:-1] + "2", **kwargs)
    assert [line.arm_code for line in other] != [line.arm_code for line in first]


@pytest.mark.parametrize(
    ("arms", "block_sizes"),
    [
        ([allocation.Arm("MSC", 1), allocation.Arm("PLACEBO", 1)], [2, 4]),
        ([allocation.Arm("HIGH", 2), allocation.Arm("PLACEBO", 1)], [3, 6]),
    ],
)
def test_lines_come_in_whole_blocks_balanced_by_ratio(arms, block_sizes) -> None:
    per_stratum = 25
    strata = ["site=VA01", "site=SA01"]
    lines = allocation.generate(
        seed=SEED, arms=arms, block_sizes=block_sizes, strata=strata, per_stratum=per_stratum
    )
    ratio_sum = sum(arm.ratio for arm in arms)
    grouped = lines_by_stratum(lines)
    assert list(grouped) == strata
    used_sizes = set()
    for stratum_lines in grouped.values():
        assert [line.sequence for line in stratum_lines] == list(range(1, len(stratum_lines) + 1))
        assert per_stratum <= len(stratum_lines) < per_stratum + max(block_sizes)
        blocks: dict[int, list[allocation.Line]] = defaultdict(list)
        for line in stratum_lines:
            blocks[line.block_number].append(line)
        assert list(blocks) == list(range(1, len(blocks) + 1))
        for block in blocks.values():
            size = block[0].block_size
            used_sizes.add(size)
            assert size in block_sizes
            assert len(block) == size, "only whole blocks are generated"
            assert Counter(line.arm_code for line in block) == {
                arm.code: arm.ratio * size // ratio_sum for arm in arms
            }
    assert used_sizes == set(block_sizes)


def test_blocks_are_permuted_not_in_a_fixed_order() -> None:
    lines = allocation.generate(
        seed=SEED, arms=ARMS, block_sizes=[4], strata=["all"], per_stratum=80
    )
    orders = {
        tuple(line.arm_code for line in lines if line.block_number == number)
        for number in range(1, 21)
    }
    assert len(orders) > 1


def test_strata_are_every_combination_of_factor_levels() -> None:
    keys = allocation.strata_keys([("site", ("VA01", "SA01")), ("sex", ("F", "M"))])
    assert keys == ["site=VA01;sex=F", "site=VA01;sex=M", "site=SA01;sex=F", "site=SA01;sex=M"]
    assert allocation.strata_keys([]) == ["all"]
    lines = allocation.generate(seed=SEED, arms=ARMS, block_sizes=[2], strata=keys, per_stratum=4)
    assert sorted(lines_by_stratum(lines)) == sorted(keys)


def test_adding_a_stratum_does_not_change_another_strata_list() -> None:
    alone = allocation.generate(
        seed=SEED, arms=ARMS, block_sizes=[2, 4], strata=["site=VA01"], per_stratum=20
    )
    together = allocation.generate(
        seed=SEED, arms=ARMS, block_sizes=[2, 4], strata=["site=SA01", "site=VA01"], per_stratum=20
    )
    assert lines_by_stratum(together)["site=VA01"] == alone


def test_short_seed_and_unbalanced_block_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        allocation.generate(
            seed="x" * 15, arms=ARMS, block_sizes=[2], strata=["all"], per_stratum=2
        )
    with pytest.raises(ValueError, match="Block size 3 is not a multiple of the ratio sum 2"):
        allocation.generate(seed=SEED, arms=ARMS, block_sizes=[3], strata=["all"], per_stratum=2)


# Generating the stored list ----------------------------------------------------------------


def test_generated_list_follows_the_protocol_and_keeps_only_the_seed_fingerprint(msvle) -> None:
    allocation_list = allocation_generate(
        actor=msvle.unblinded_statistician, trial=msvle.trial, seed=SEED, now=NOW
    )
    assert (allocation_list.stage_code, allocation_list.method) == ("RCT", "generated")
    assert allocation_list.block_sizes == [2, 4]
    assert allocation_list.seed_sha256 == hashlib.sha256(SEED.encode()).hexdigest()
    slots = list(allocation_list.slots.order_by("stratum", "sequence"))
    expected = allocation.generate(
        seed=SEED, arms=ARMS, block_sizes=[2, 4], strata=["site=VA01"], per_stratum=20
    )
    assert [(s.stratum, s.sequence, s.block_number, s.block_size, s.arm_code) for s in slots] == [
        (line.stratum, line.sequence, line.block_number, line.block_size, line.arm_code)
        for line in expected
    ]
    assert [s.randomization_number for s in slots] == [
        f"R{n:04d}" for n in range(1, len(slots) + 1)
    ]
    assert all(s.participant_id is None for s in slots)


def test_generation_refuses_a_short_seed_and_blinded_roles(msvle) -> None:
    with pytest.raises(DomainError, match="at least 16 characters"):
        allocation_generate(
            actor=msvle.unblinded_statistician, trial=msvle.trial, seed="short-seed-15ch", now=NOW
        )
    for actor in (msvle.statistician, msvle.investigator, msvle.trial_admin, msvle.pharmacist):
        with pytest.raises(PermissionDeniedError):
            allocation_generate(actor=actor, trial=msvle.trial, seed=SEED, now=NOW)
    assert not AllocationList.objects.exists()


def test_only_one_list_per_stage(msvle) -> None:
    with_allocation(msvle)
    slots = AllocationSlot.objects.count()
    with pytest.raises(DomainError, match="stage RCT already has an allocation list"):
        allocation_generate(
            actor=msvle.unblinded_statistician, trial=msvle.trial, seed=SEED + "-2", now=NOW
        )
    with pytest.raises(DomainError, match="already has an allocation list"):
        allocation_import(
            actor=msvle.unblinded_statistician,
            trial=msvle.trial,
            csv_text=f"{HEADER}\nsite=VA01,1,1,2,MSC,X001\nsite=VA01,2,1,2,PLACEBO,X002\n",
            now=NOW,
        )
    assert AllocationList.objects.count() == 1
    assert AllocationSlot.objects.count() == slots


def generate_command(username: str, *extra: str) -> str:
    out = StringIO()
    call_command("generate_allocation", "--trial", "MSVLE", "--as", username, *extra, stdout=out)
    return out.getvalue()


def test_command_reads_the_seed_from_the_environment_and_prints_no_arm(
    msvle, monkeypatch, time_machine
) -> None:
    time_machine.move_to(NOW, tick=False)
    monkeypatch.setenv("ALLOCATION_SEED", SEED)
    output = generate_command(msvle.unblinded_statistician.username)
    allocation_list = AllocationList.objects.get(trial=msvle.trial)
    assert allocation_list.seed_sha256 == hashlib.sha256(SEED.encode()).hexdigest()
    assert (allocation_list.created_by, allocation_list.created_at) == (
        msvle.unblinded_statistician,
        NOW,
    )
    assert "allocation list created for stage RCT" in output
    for secret in ("MSC", "PLACEBO", "Placebo", "Mesenchymal", SEED):
        assert secret not in output


def test_command_takes_another_variable_and_refuses_a_missing_seed(msvle, monkeypatch) -> None:
    monkeypatch.delenv("ALLOCATION_SEED", raising=False)
    with pytest.raises(CommandError, match="Set the secret seed in the environment variable"):
        generate_command(msvle.unblinded_statistician.username)
    monkeypatch.setenv("MSVLE_SEED", SEED)
    generate_command(msvle.unblinded_statistician.username, "--seed-env", "MSVLE_SEED")
    assert AllocationList.objects.get().seed_sha256 == hashlib.sha256(SEED.encode()).hexdigest()


def test_command_refuses_a_blinded_statistician(msvle, monkeypatch) -> None:
    monkeypatch.setenv("ALLOCATION_SEED", SEED)
    with pytest.raises(CommandError, match="Your role does not allow you to create allocation"):
        generate_command(msvle.statistician.username)
    assert not AllocationList.objects.exists()


# Importing a list --------------------------------------------------------------------------


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


VALID_ROWS = (
    "site=VA01,1,1,2,PLACEBO,V-101",
    "site=VA01,2,1,2,MSC,V-102",
    "site=VA01,3,2,2,MSC,V-103",
    "site=VA01,4,2,2,PLACEBO,V-104",
)


def test_valid_csv_is_imported_as_written(msvle) -> None:
    allocation_list = allocation_import(
        actor=msvle.unblinded_statistician, trial=msvle.trial, csv_text=csv_of(*VALID_ROWS), now=NOW
    )
    assert (allocation_list.method, allocation_list.seed_sha256) == ("imported", "")
    rows = allocation_list.slots.order_by("sequence").values_list(
        "stratum", "sequence", "block_number", "block_size", "arm_code", "randomization_number"
    )
    assert list(rows) == [
        ("site=VA01", 1, 1, 2, "PLACEBO", "V-101"),
        ("site=VA01", 2, 1, 2, "MSC", "V-102"),
        ("site=VA01", 3, 2, 2, "MSC", "V-103"),
        ("site=VA01", 4, 2, 2, "PLACEBO", "V-104"),
    ]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        pytest.param(
            (*VALID_ROWS[:2], "site=VA01,3,2,2,LOW_DOSE,V-103"),
            HEADER,
            "line 4: unknown arm 'LOW_DOSE'",
            id="unknown-arm",
        ),
        pytest.param(
            (VALID_ROWS[0], "site=SA01,1,1,2,MSC,V-102"),
            HEADER,
            "line 3: unknown stratum 'site=SA01'",
            id="unknown-stratum",
        ),
        pytest.param(
            (VALID_ROWS[0], "site=VA01,3,1,2,MSC,V-102"),
            HEADER,
            "line 3: sequence 3 in site=VA01 is out of order",
            id="out-of-order",
        ),
        pytest.param(
            (*VALID_ROWS[:3], "site=VA01,4,2,2,PLACEBO,V-102"),
            HEADER,
            "line 5: randomization number 'V-102' is already used on line 3",
            id="duplicate-number",
        ),
        pytest.param(
            (VALID_ROWS[0], "site=VA01,2,1,2,MSC"),
            HEADER,
            "line 3: randomization_number is empty",
            id="short-row",
        ),
        pytest.param(
            (VALID_ROWS[0], "site=VA01,two,1,2,MSC,V-102"),
            HEADER,
            "line 3: sequence, block_number and block_size must be whole numbers",
            id="not-a-number",
        ),
        pytest.param(
            ("site=VA01,1,1,2,V-101", "site=VA01,2,1,2,V-102"),
            "stratum,sequence,block_number,block_size,randomization_number",
            "line 1: missing column(s) arm",
            id="missing-column",
        ),
    ],
)
def test_bad_csv_is_refused_naming_the_line_and_nothing_is_stored(
    msvle, rows, header, message
) -> None:
    with pytest.raises(DomainError) as caught:
        allocation_import(
            actor=msvle.unblinded_statistician,
            trial=msvle.trial,
            csv_text=csv_of(*rows, header=header),
            now=NOW,
        )
    assert caught.value.message.startswith("The allocation list was not imported: ")
    assert message in caught.value.message
    assert not AllocationList.objects.exists()
    assert not AllocationSlot.objects.exists()


def test_every_problem_of_a_csv_is_reported_at_once(msvle) -> None:
    text = csv_of("site=VA01,1,1,2,MSC,V-1", "site=VA01,2,1,2,PBO,V-1", "site=XX,1,1,2,MSC,V-3")
    with pytest.raises(DomainError) as caught:
        allocation_import(
            actor=msvle.unblinded_statistician, trial=msvle.trial, csv_text=text, now=NOW
        )
    message = caught.value.message
    assert "line 3: unknown arm 'PBO'" in message
    assert "line 3: randomization number 'V-1' is already used on line 2" in message
    assert "line 4: unknown stratum 'site=XX'" in message


def test_import_command_names_the_line_and_stores_nothing(msvle, tmp_path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(csv_of(VALID_ROWS[0], "site=VA01,2,1,2,ACTIVE,V-102"), encoding="utf-8")
    args = ("import_allocation", str(path), "--trial", "MSVLE")
    with pytest.raises(CommandError, match="line 3: unknown arm 'ACTIVE'"):
        call_command(*args, "--as", msvle.unblinded_statistician.username)
    with pytest.raises(CommandError, match="Your role does not allow you to import"):
        call_command(*args, "--as", msvle.statistician.username)
    assert not AllocationList.objects.exists()
    path.write_text(csv_of(*VALID_ROWS), encoding="utf-8")
    out = StringIO()
    call_command(*args, "--as", msvle.unblinded_statistician.username, stdout=out)
    assert out.getvalue().strip() == "MSVLE: 4 allocation lines imported."


def test_import_command_reads_a_spreadsheet_export_with_a_byte_order_mark(msvle, tmp_path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(csv_of(*VALID_ROWS), encoding="utf-8-sig")
    out = StringIO()
    call_command(
        "import_allocation",
        str(path),
        "--trial",
        "MSVLE",
        "--as",
        msvle.unblinded_statistician.username,
        stdout=out,
    )
    assert out.getvalue().strip() == "MSVLE: 4 allocation lines imported."
    assert AllocationSlot.objects.filter(stratum="site=VA01").count() == 4


def test_import_command_reports_an_unreadable_file(msvle, tmp_path) -> None:
    args = ("--trial", "MSVLE", "--as", msvle.unblinded_statistician.username)
    with pytest.raises(CommandError, match=r"absent\.csv: cannot be read"):
        call_command("import_allocation", str(tmp_path / "absent.csv"), *args)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(csv_of("site=VA01,1,1,2,MSC,Nº1").encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin\.csv: cannot be read"):
        call_command("import_allocation", str(latin), *args)
    assert not AllocationList.objects.exists()


# Randomizing -------------------------------------------------------------------------------


def import_list(team, *rows: str) -> None:
    allocation_import(
        actor=team.unblinded_statistician, trial=team.trial, csv_text=csv_of(*rows), now=NOW
    )


def test_randomization_takes_the_next_free_slot_in_sequence(msvle) -> None:
    import_list(msvle, *VALID_ROWS)
    randomized = [
        participant_randomize(actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW)
        for _ in range(3)
    ]
    assert [p.randomization_number for p in randomized] == ["V-101", "V-102", "V-103"]
    taken = AllocationSlot.objects.filter(participant__isnull=False).order_by("sequence")
    assert [(s.sequence, s.participant_id) for s in taken] == [
        (1, randomized[0].pk),
        (2, randomized[1].pk),
        (3, randomized[2].pk),
    ]
    assert all(s.assigned_at == NOW for s in taken)
    assert [p.subject_id.split("-")[1] for p in randomized] == ["001", "002", "003"]
    assert all(is_valid_subject_identifier(p.subject_id) for p in randomized)


def two_site_amendment(team) -> None:
    """Version 1.2 of MSVLE adds the team's other site as a site and a stratum."""
    text = (PROTOCOLS / "nct03673748.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "1.6"', 'version: "1.7"').replace(
        "levels: [VA01]", "levels: [VA01, ZZ01]"
    )
    text = text.replace(
        "\n# Windows:",
        "\n  - code: ZZ01\n    name: Other hospital\n    city: Santiago\n    country: CL\n"
        "    time_zone: America/Santiago\n\n# Windows:",
    )
    definition = parse_protocol_text(text, source="amended.yaml")
    protocol_load(actor=team.trial_admin, definition=definition, source_name="amended", now=NOW)


def test_each_stratum_has_its_own_sequence(msvle) -> None:
    two_site_amendment(msvle)
    with_allocation(msvle)
    here = [
        participant_randomize(actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW)
        for _ in range(2)
    ]
    there = make_eligible(msvle, register(msvle, site=msvle.other_site))
    there = participant_randomize(actor=msvle.other_coordinator, participant=there, now=NOW)
    slot_here = [AllocationSlot.objects.get(participant=p) for p in here]
    slot_there = AllocationSlot.objects.get(participant=there)
    assert [(s.stratum, s.sequence) for s in slot_here] == [("site=VA01", 1), ("site=VA01", 2)]
    assert (slot_there.stratum, slot_there.sequence) == ("site=ZZ01", 1)
    assert there.subject_id.startswith("ZZ01-001-")


def test_blinded_caller_learns_only_the_randomization_number(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle)
    fields = [f.attname for f in Participant._meta.concrete_fields]
    before = {name: getattr(participant, name) for name in fields}
    randomized = participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    after = {name: getattr(randomized, name) for name in fields}
    changed = {name for name in fields if before[name] != after[name]}
    assert changed == {
        "status",
        "subject_id",
        "stage_code",
        "randomization_number",
        "randomized_at",
    }
    slot = AllocationSlot.objects.get(participant=randomized)
    assert randomized.randomization_number == slot.randomization_number
    # Nothing that names the arm travels with the returned participant, not even a cached slot.
    assert not Participant.allocation.is_cached(randomized)
    stored = Participant.objects.filter(pk=randomized.pk).values().get()
    assert not {"MSC", "PLACEBO"} & {str(value) for value in stored.values()}
    history = randomized.history.first()
    assert (history.history_user, history.history_change_reason) == (
        msvle.coordinator,
        "Randomized",
    )
    with_arm = sorted(
        f"{model.__name__}.{field.name}"
        for app in ("trials", "visits")
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.concrete_fields
        if "arm" in field.name.split("_")
    )
    assert with_arm == ["AllocationSlot.arm_code"]


def test_exhausted_list_is_a_clear_error_and_changes_nothing(msvle) -> None:
    import_list(msvle, *VALID_ROWS[:2])
    for _ in range(2):
        participant_randomize(actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW)
    third = make_eligible(msvle)
    with pytest.raises(DomainError, match="allocation list for site=VA01 is exhausted"):
        participant_randomize(actor=msvle.coordinator, participant=third, now=NOW)
    third.refresh_from_db()
    assert (third.status, third.subject_id, third.randomization_number) == ("eligible", None, "")


def test_no_list_is_a_clear_error(msvle) -> None:
    participant = make_eligible(msvle)
    with pytest.raises(DomainError, match="No allocation list has been loaded"):
        participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE


def test_a_participant_in_screening_cannot_be_randomized(msvle) -> None:
    with_allocation(msvle)
    participant = register(msvle)
    with pytest.raises(InvalidTransitionError, match="screening; it cannot become randomized"):
        participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    assert not AllocationSlot.objects.filter(participant__isnull=False).exists()
    participant.refresh_from_db()
    assert participant.subject_id is None


def test_a_randomized_participant_is_not_randomized_twice(msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    with pytest.raises(InvalidTransitionError):
        participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    assert AllocationSlot.objects.filter(participant__isnull=False).count() == 1


def test_only_site_staff_at_the_site_randomize(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle)
    for actor in (
        msvle.other_coordinator,
        msvle.pharmacist,
        msvle.monitor,
        msvle.statistician,
        msvle.unblinded_statistician,
    ):
        with pytest.raises(PermissionDeniedError):
            participant_randomize(actor=actor, participant=participant, now=NOW)
    assert not AllocationSlot.objects.filter(participant__isnull=False).exists()


def test_mscrole_randomization_waits_for_dose_escalation(mscrole) -> None:
    with_allocation(mscrole)
    participant = make_eligible(mscrole)
    with pytest.raises(DomainError, match="Dose escalation is still running"):
        participant_randomize(actor=mscrole.coordinator, participant=participant, now=NOW)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE
    assert not AllocationSlot.objects.filter(participant__isnull=False).exists()


# Concurrency -------------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL row locks (SELECT ... FOR UPDATE); SQLite has no row locking",
)
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_randomizations_take_consecutive_slots(msvle) -> None:
    with_allocation(msvle)
    participants = [make_eligible(msvle) for _ in range(20)]
    barrier = threading.Barrier(len(participants))
    errors: list[BaseException] = []

    def randomize(participant: Participant) -> None:
        try:
            barrier.wait(timeout=30)
            participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=randomize, args=(p,)) for p in participants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    slots = list(AllocationSlot.objects.filter(participant__isnull=False))
    assert len(slots) == 20
    assert len({slot.participant_id for slot in slots}) == 20
    assert {slot.stratum for slot in slots} == {"site=VA01"}
    assert sorted(slot.sequence for slot in slots) == list(range(1, 21))
    stored = Participant.objects.filter(pk__in=[p.pk for p in participants])
    assert {p.status for p in stored} == {ParticipantStatus.RANDOMIZED}
    subject_ids = [p.subject_id for p in stored]
    assert len(set(subject_ids)) == 20
    assert sorted(s.split("-")[1] for s in subject_ids) == [f"{n:03d}" for n in range(1, 21)]
    assert all(is_valid_subject_identifier(s) for s in subject_ids)
    numbers = {p.pk: p.randomization_number for p in stored}
    assert numbers == {slot.participant_id: slot.randomization_number for slot in slots}
