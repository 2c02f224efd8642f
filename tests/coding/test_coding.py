"""Coding to MedDRA and WHODrug: loading a release, exact-match and hand coding, recoding with
a reason, a query to the site, and who may do it. The dictionary files under
tests/coding/dictionary/ are fabricated in the distribution layouts; they hold no licensed
content."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.services import system_actor
from assessments.services import form_save
from casebook.catalogue import form_type
from coding.models import Coding, Dictionary, DictionaryVersion, MeddraTerm
from coding.services import coding_assign, coding_autocode, coding_query_site, dictionary_load
from ecrf.access import Role
from ecrf.errors import DomainError, PermissionDeniedError
from tests.factories import TrialFactory
from tests.personas import member
from tests.safety.events import enter, follow_up

FILES = Path(__file__).parent / "dictionary"
NOW = datetime(2026, 4, 20, 10, 0, tzinfo=UTC)


def load_both() -> None:
    actor = system_actor()
    dictionary_load(
        dictionary=Dictionary.MEDDRA, folder=FILES / "meddra", version="99.0", actor=actor, now=NOW
    )
    dictionary_load(
        dictionary=Dictionary.WHODRUG,
        folder=FILES / "whodrug",
        version="2099 Mar",
        actor=actor,
        now=NOW,
    )


def test_a_release_loads_once_and_only_as_the_version_its_files_are(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="not the version 98"):
        call_command("load_dictionary", "meddra", str(FILES / "meddra"), "--release", "98.0")
    call_command("load_dictionary", "meddra", str(FILES / "meddra"), "--release", "99.0")
    with pytest.raises(CommandError, match="already loaded"):
        call_command("load_dictionary", "meddra", str(FILES / "meddra"), "--release", "99.0")
    rash = MeddraTerm.objects.get(llt_code="99400004")
    # The primary path is taken from mdhier.asc, not the secondary one under another SOC.
    assert (rash.pt_name, rash.hlt_code, rash.soc_name, rash.current) == (
        "Rash",
        "99200002",
        "Test skin SOC",
        False,
    )
    # A pt.asc of another release names a PT differently from mdhier.asc: refused whole.
    mixed = tmp_path / "mixed"
    shutil.copytree(FILES / "meddra", mixed)
    (mixed / "meddra_release.asc").write_text("99.1$English$$$$\n")
    (mixed / "pt.asc").write_text(
        "99300001$Cephalalgia$$99000001$$$$$$$$\n99300002$Rash$$99000002$$$$$$$$\n"
    )
    with pytest.raises(CommandError, match="not one complete release"):
        call_command("load_dictionary", "meddra", str(mixed), "--release", "99.1")
    # A WHODrug ATC file naming a drug the drug file lacks is refused as well.
    drugs = tmp_path / "drugs"
    shutil.copytree(FILES / "whodrug", drugs)
    with (drugs / "DDA.txt").open("a") as dda:
        dda.write("990003010010A01AA99261Y\n")
    with pytest.raises(CommandError, match="not one complete release"):
        call_command("load_dictionary", "whodrug", str(drugs), "--release", "2099 Mar")
    assert list(DictionaryVersion.objects.values_list("version", flat=True)) == ["99.0"]


def test_exact_matches_are_coded_and_a_recoding_needs_a_reason(msvle, participant) -> None:
    load_both()
    coder = member(msvle.trial, Role.CODER, None, "msvle_coder", printed_name="Cora Coder")
    headache = enter(
        msvle, participant, {"verbatim_term": "  HEADACHE ", "onset_date": "2026-04-01"}
    )
    eruption = enter(
        msvle, participant, {"verbatim_term": "Skin eruption", "onset_date": "2026-04-02"}
    )
    odd = enter(msvle, participant, {"verbatim_term": "Felt funny", "onset_date": "2026-04-03"})
    drug = form_save(
        actor=msvle.coordinator,
        ftype=form_type("conmed"),
        participant=participant,
        data={"medication": "testadol", "category": "other", "start_date": "2025", "ongoing": True},
        now=NOW,
    )
    with pytest.raises(PermissionDeniedError):
        coding_autocode(actor=msvle.coordinator, trial=msvle.trial, now=NOW)
    # A term no longer current is left to the coder; so is a term with no entry.
    assert coding_autocode(actor=coder, trial=msvle.trial, now=NOW) == 2
    assert coding_autocode(actor=coder, trial=msvle.trial, now=NOW) == 0
    headache.refresh_from_db()
    drug.refresh_from_db()
    assert (
        headache.llt_code,
        headache.pt_name,
        headache.soc_code,
        headache.dictionary_version,
    ) == (
        "99400001",
        "Headache",
        "99000001",
        "MedDRA 99.0",
    )
    assert (drug.coded_term, drug.coded_code) == ("TESTADOL", "99000101001")
    coded = Coding.objects.get(kind="adverse_events", record_id=headache.pk)
    assert (coded.hlt_name, coded.hlgt_code, coded.method) == (
        "Test headaches NEC HLT",
        "99100001",
        "automatic",
    )
    assert Coding.objects.get(kind="conmed", record_id=drug.pk).atc_code == "N02BE99"

    head_pain = MeddraTerm.objects.get(llt_code="99400002")
    with pytest.raises(DomainError, match="reason for recoding"):
        coding_assign(actor=coder, kind="adverse_events", record=headache, term=head_pain, now=NOW)
    coding_assign(
        actor=coder,
        kind="adverse_events",
        record=headache,
        term=head_pain,
        reason="The site describes pain of the head",
        now=NOW,
    )
    history = list(
        coded.history.order_by("history_id").values_list(
            "code", "history_change_reason", "history_username"
        )
    )
    assert history == [
        ("99400001", "Exact match of the reported term", "msvle_coder"),
        ("99400002", "The site describes pain of the head", "msvle_coder"),
    ]
    headache.refresh_from_db()
    assert headache.llt_name == "Head pain"
    # The site changes the reported term: it is to code again, and an exact match recodes it.
    follow_up(msvle, headache, {"verbatim_term": "Rash"}, reason="Corrected term")
    assert coding_autocode(actor=coder, trial=msvle.trial, now=NOW) == 1
    coded.refresh_from_db()
    assert (coded.code, coded.soc_code, coded.history.count()) == ("99400003", "99000002", 3)
    with pytest.raises(PermissionDeniedError):
        coding_assign(
            actor=msvle.monitor,
            kind="adverse_events",
            record=eruption,
            term=head_pain,
            now=NOW,
        )

    query = coding_query_site(
        actor=coder,
        ftype=form_type("adverse_events"),
        record=odd,
        text="Please describe the symptom.",
        now=NOW,
    )
    assert (query.field_name, query.opener_role, query.object_id) == (
        "verbatim_term",
        Role.CODER,
        odd.pk,
    )


def test_the_coding_pages_are_the_coders_and_speak_spanish(client, msvle, participant) -> None:
    load_both()
    coder = member(msvle.trial, Role.CODER, None, "msvle_coder", language="es")
    ae = enter(msvle, participant, {"verbatim_term": "Rash", "onset_date": "2026-04-01"})
    client.force_login(coder)
    page = client.get("/coding/").content.decode()
    assert "Codificación médica" in page and "Rash" in page and "Codificar coincidencias" in page
    record_url = f"/coding/adverse_events/{ae.pk}/"
    page = client.get(record_url).content.decode()
    assert (
        "Término de nivel más bajo" in page
        and "Test skin SOC" in page
        and "Preguntar al centro" in page
    )
    term = MeddraTerm.objects.get(llt_code="99400003")
    assert client.post(record_url, {"action": "code", "term": term.pk}).status_code == 302
    assert Coding.objects.get(record_id=ae.pk).coded_by == coder
    page = client.get(record_url).content.decode()
    assert "Motivo de la recodificación" in page and "Historial de la codificación" in page

    stranger = member(TrialFactory(code="OTHER"), Role.CODER, None, "other_coder")
    for user, status in ((msvle.coordinator, 403), (msvle.monitor, 403), (stranger, 404)):
        client.force_login(user)
        assert client.get(record_url).status_code == status, user
    client.force_login(msvle.coordinator)
    assert client.get("/coding/").status_code == 403
