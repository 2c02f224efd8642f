"""The ODM export streams: memory stays flat as the trial's history grows."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

from simple_history.utils import bulk_create_with_history

from exports.odm import history, odm_file_name, odm_total, write_odm
from safety.models import AdverseEvent
from tests.exports.odm_fixtures import AFTER_ALL, LOGS_ENTERED, NS, parse, schema


def add_adverse_events(story, count: int) -> None:
    """`count` adverse events of the first participant, each with an entry and a follow-up."""
    subject = story.subject
    events = [
        AdverseEvent(
            participant=subject,
            protocol_version=subject.protocol_version,
            verbatim_term=f"Synthetic event {index:05d} " + "x" * 150,
            onset_date="2026-03-05",
            ctcae_grade=1,
            entered_at=LOGS_ENTERED,
            updated_at=LOGS_ENTERED,
        )
        for index in range(count)
    ]
    created = bulk_create_with_history(
        events,
        AdverseEvent,
        default_user=story.team.coordinator,
        default_change_reason="Initial entry",
        default_date=LOGS_ENTERED,
    )
    for event in created:
        event.ctcae_grade = 2
    AdverseEvent.objects.bulk_update(created, ["ctcae_grade"])
    AdverseEvent.history.bulk_history_create(  # type: ignore[attr-defined]
        created,
        update=True,
        default_user=story.team.coordinator,
        default_change_reason="Grade worsened",
        default_date=LOGS_ENTERED + timedelta(days=1),
    )


def peak_while_writing(ctx, folder) -> tuple[int, int]:
    """Peak Python memory while writing, and the file's size."""
    tracemalloc.start()
    try:
        files = write_odm(ctx, folder, lambda units: None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, files[0].path.stat().st_size


def test_memory_stays_flat_when_the_history_grows_fivefold(story, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(history, "CHUNK_SIZE", 100)
    ctx = story.context(AFTER_ALL)
    add_adverse_events(story, 300)
    # Once for the caches a first export fills (parsed protocol, translations, queries).
    write_odm(ctx, tmp_path / "warm", lambda units: None)
    small_peak, small_size = peak_while_writing(ctx, tmp_path / "small")
    small_total = odm_total(ctx)
    add_adverse_events(story, 1200)
    large_peak, large_size = peak_while_writing(ctx, tmp_path / "large")
    large_total = odm_total(ctx)
    assert large_total > 4 * small_total
    assert large_size > 4 * small_size
    # Held in memory, the data would grow with the file; streamed, the peak barely moves.
    assert large_peak < small_peak * 1.5
    assert large_peak < large_size / 4
    root = parse(tmp_path / "large" / odm_file_name(ctx))
    assert schema().validate(root.getroottree())
    terms = root.findall(".//odm:ItemData[@ItemOID='IT.ADVERSE_EVENTS.CTCAE_GRADE']", NS)
    assert [el.get("TransactionType") for el in terms].count("Update") == 1500
