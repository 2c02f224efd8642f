"""The next page of forms to verify continues exactly where the last ended, across form tables:
on PostgreSQL, where each form type gives only its first rows to the union the queue sorts,
and on SQLite, where the union takes them all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.casebook.test_review_backlog import form_save_renal
from tests.world import ENTERED, enter_sledai

URL = "/api/v1/trials/MSVLE/review-queue/to-verify/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)
    return time_machine


def test_the_next_page_continues_where_the_last_ended_across_form_tables(
    msvle, participant, monkeypatch
) -> None:
    codes = ("W4", "W8", "W12", "W16", "W20")
    sledai = [enter_sledai(msvle, participant, code) for code in codes]
    renal = [form_save_renal(msvle, participant, participant.visits.get(code=c)) for c in codes]
    # Last changes interleaved across the two tables, with ties: within a table (broken by id)
    # and across tables (broken by form code: renal before sledai2k).
    at = [0, 2, 2, 5, 9]  # minutes after ENTERED, sledai2k
    at_renal = [1, 2, 3, 5, 5]
    for records, minutes in ((sledai, at), (renal, at_renal)):
        model = records[0].__class__
        for record, offset in zip(records, minutes, strict=True):
            model.objects.filter(pk=record.pk).update(
                updated_at=ENTERED + timedelta(minutes=offset)
            )
    expected = sorted(
        [("sledai2k", r.pk, m) for r, m in zip(sledai, at, strict=True)]
        + [("renal", r.pk, m) for r, m in zip(renal, at_renal, strict=True)],
        key=lambda row: (row[2], row[0], row[1]),
    )
    expected_ids = [(code, pk) for code, pk, _ in expected]

    api = APIClient()
    api.force_login(msvle.monitor)
    whole = api.get(f"{URL}?limit=100").json()
    assert [(r["form_code"], r["record_id"]) for r in whole["results"]] == expected_ids
    for size in (2, 3, 4):
        pages = []
        for offset in range(0, len(expected_ids), size):
            body = api.get(f"{URL}?limit={size}&offset={offset}").json()
            assert body["count"] == len(expected_ids)
            pages.append([(r["form_code"], r["record_id"]) for r in body["results"]])
        assert [row for page in pages for row in page] == expected_ids, size
        assert all(len(page) == size for page in pages[:-1])

    # The staff page's second page likewise.
    monkeypatch.setattr("ecrf.pagination.PAGE_SIZE_SHOWN", 3)
    client = Client()
    client.force_login(msvle.monitor)
    shown = []
    for number in (1, 2, 3, 4):
        page = client.get(f"/review/?to_verify_page={number}").content.decode()
        shown += re.findall(r'<tr id="verify-([a-z0-9_]+)-(\d+)"', page)
    assert [(code, int(pk)) for code, pk in shown] == expected_ids
