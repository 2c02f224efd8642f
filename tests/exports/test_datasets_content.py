"""What each dataset holds, checked against the data entered through the services."""

from __future__ import annotations

from datetime import date

import pytest

from assessments.models import LabResults, RenalAssessment
from casebook.catalogue import form_type
from exports.datasets import DATASETS, exported_datasets
from tests.exports.dataset_fixtures import AS_OF, LATEST, rows_of, save


def _where(rows: list[dict], **match: object) -> list[dict]:
    return [row for row in rows if all(row[key] == value for key, value in match.items())]


def test_datasets_are_in_the_agreed_order() -> None:
    assert [dataset.name for dataset in DATASETS] == [
        "DM", "SE", "DS", "SV", "EC", "EX", "SUPPEX", "AE", "SUPPAE", "CM", "SUPPCM", "MH",
        "LB", "VS", "RS", "SUPPRS", "RP", "IE", "DV", "RELREC", "TS", "TA", "TE", "TV", "TI",
    ]  # fmt: skip


def test_each_count_is_the_number_of_rows_in_key_order(sdtm_trial) -> None:
    for as_of in (AS_OF, LATEST):
        for blinded in (True, False):
            ctx = sdtm_trial.ctx(as_of, blinded=blinded)
            for exported in exported_datasets(ctx):
                rows = list(exported.rows(ctx))
                where = f"{exported.name} as of {as_of:%Y-%m-%d}, blinded {blinded}"
                assert exported.count(ctx) == len(rows), where
                names = [variable.name for variable in exported.variables]
                positions = [names.index(key) for key in exported.dataset.keys]
                identities = [tuple(row[p] for p in positions) for row in rows]
                assert len(set(identities)) == len(identities), f"{where}: keys repeat"
                assert identities == sorted(identities), f"{where}: not in key order"


def test_lab_results_in_original_and_standard_units(sdtm_trial) -> None:
    lb = rows_of(sdtm_trial.ctx(), "LB")
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    c3 = _where(lb, USUBJID=p1, LBTESTCD="C3")[0]
    # Entered as 62 mg/dL with the lab's range 90-180 mg/dL; standard unit g/L.
    assert (c3["LBORRES"], c3["LBORRESU"], c3["LBORNRLO"], c3["LBORNRHI"]) == (
        "62",
        "mg/dL",
        "90",
        "180",
    )
    assert (c3["LBSTRESN"], c3["LBSTRESU"], c3["LBSTNRLO"], c3["LBSTNRHI"]) == (
        pytest.approx(0.62),
        "g/L",
        pytest.approx(0.9),
        pytest.approx(1.8),
    )
    assert (c3["LBNRIND"], c3["LBSPEC"], c3["LBCAT"]) == ("LOW", "SERUM", "IMMUNOLOGY")
    upcr = _where(lb, USUBJID=p1, LBTESTCD="PROTCRT", VISITNUM=5.0)[0]
    stored = RenalAssessment.objects.get(participant=sdtm_trial.p1, visit__code="W4")
    assert (upcr["LBORRES"], upcr["LBORRESU"], upcr["LBSTRESU"]) == ("135.7", "mg/mmol", "g/g")
    assert upcr["LBSTRESN"] == float(stored.upcr_g_g)
    assert upcr["LBMETHOD"] == "SPOT URINE"
    egfr = _where(lb, USUBJID=p1, LBTESTCD="EGFR", VISITNUM=5.0)[0]
    assert (egfr["LBSTRESN"], egfr["LBDRVFL"]) == (float(stored.egfr), "Y")
    assert stored.egfr_version in egfr["LBMETHOD"]


def test_last_observation_before_exposure_per_test(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    haemoglobin = _where(rows_of(ctx, "LB"), USUBJID=p1, LBTESTCD="HGB")
    # Selection (day -1), Day 0 pre-dose (day 1, the baseline), week 4 (day 29).
    assert [(row["LBDY"], row["LBLOBXFL"] or "") for row in haemoglobin] == [
        (-1, ""),
        (1, "Y"),
        (29, ""),
    ]
    systolic = _where(rows_of(ctx, "VS"), USUBJID=p1, VSTESTCD="SYSBP")
    # Post-dose timepoints of Day 0 come after exposure: the pre-dose reading is the baseline.
    assert [(row["VSTPT"], row["VSLOBXFL"] or "") for row in systolic] == [
        ("", ""),
        ("PRE-DOSE", "Y"),
        ("15 MIN AFTER START OF INFUSION", ""),
        ("2 H AFTER START OF INFUSION", ""),
    ]
    assert [row["VSTPTNUM"] for row in systolic] == [None, 1, 2, 5]
    assert [row["VSELTM"] for row in systolic] == ["", "", "PT15M", "PT2H"]
    assert {row["VSTPTREF"] for row in systolic[1:]} == {"START OF INFUSION"}


def test_sledai_items_totals_and_window(sdtm_trial) -> None:
    rs = rows_of(sdtm_trial.ctx(), "RS")
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    selection = _where(rs, USUBJID=p1, RSCAT="SLEDAI-2K", RSDTC="2026-03-02")
    assert len(selection) == 24 + 2
    assert {row["RSEVLINT"] for row in selection} == {"-P10D"}
    proteinuria = _where(selection, RSTESTCD="PROT")[0]
    assert (proteinuria["RSORRES"], proteinuria["RSSTRESN"]) == ("Y", 4)
    seizure = _where(selection, RSTESTCD="SEIZ")[0]
    assert (seizure["RSORRES"], seizure["RSSTRESN"]) == ("N", 0)
    total = _where(selection, RSTESTCD="SLDAITOT")[0]
    assert (total["RSSTRESN"], total["RSDRVFL"], total["RSMETHOD"]) == (16, "Y", "SLEDAI-2K 1.0")
    assert sum(row["RSSTRESN"] for row in selection if row["RSDRVFL"] != "Y") == 16
    week4 = _where(rs, USUBJID=p1, RSCAT="SLEDAI-2K", RSDTC="2026-04-01")
    # Scored with the protocol's 10-day window: it says so on every row.
    assert {row["RSEVLINT"] for row in week4} == {"-P10D"}


def test_renal_response_with_its_rule_set_and_version(sdtm_trial) -> None:
    from exports.datasets.responses import renal_responses

    rs = rows_of(sdtm_trial.ctx(), "RS")
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    responses = _where(rs, USUBJID=p1, RSTESTCD="RRESEULR")
    assert [(row["RSDY"], row["RSORRES"]) for row in responses] == [(29, "PRR"), (169, "CRR")]
    stored = RenalAssessment.objects.get(participant=sdtm_trial.p1, visit__code="W24")
    for row in responses:
        assert (row["RSCAT"], row["RSTEST"]) == (
            "RENAL RESPONSE",
            "EULAR/ERA-EDTA 2019 renal response",
        )
        assert row["RSMETHOD"] == (
            f"EULAR/ERA-EDTA 2019 RENAL RESPONSE, VERSION {stored.response_version}"
        )
        assert row["RSDRVFL"] == "Y"
    # Trial B scores each assessment by its registered rule and by EULAR: one test code each,
    # and the method names the rule set, not the code the eCRF stores.
    both = renal_responses("PR", "nct03917797_cr", "1.1", True, {
        "eular2019": {"category": "PRR", "version": "1.0"},
    })  # fmt: skip
    assert [(r["RSTESTCD"], r["RSORRES"], r["RSPROVFL"]) for r in both] == [
        ("RRESMSCR", "PR", "Y"),
        ("RRESEULR", "PRR", ""),
    ]
    assert [r["RSMETHOD"] for r in both] == [
        "NCT03917797 REGISTERED RENAL RESPONSE, VERSION 1.1",
        "EULAR/ERA-EDTA 2019 RENAL RESPONSE, VERSION 1.0",
    ]


def test_disposition_failed_criteria_and_the_trial_design(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    ds = _where(rows_of(ctx, "DS"), USUBJID=p1)
    assert [(row["DSSEQ"], row["DSDECOD"], row["DSCAT"]) for row in ds] == [
        (1, "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE"),
        (2, "RANDOMIZED", "PROTOCOL MILESTONE"),
    ]
    ie = rows_of(ctx, "IE")
    assert [(row["USUBJID"], row["IETESTCD"], row["IECAT"], row["IEORRES"]) for row in ie] == [
        (sdtm_trial.usubjid(sdtm_trial.p3), "IN02", "INCLUSION", "N")
    ]
    assert ie[0]["IETEST"].startswith("Diagnosis of systemic lupus erythematosus")
    _trial_design_elements_and_epochs(sdtm_trial)


def test_only_confirmed_deviations_and_dm_after_a_death(sdtm_trial) -> None:
    team, p2 = sdtm_trial.team, sdtm_trial.p2
    save(team, "deviation", p2, {
        "occurred_on": LATEST.date(), "category": "other", "description": "Still a draft",
        "state": "draft",
    }, now=LATEST)  # fmt: skip
    dv = rows_of(sdtm_trial.ctx(LATEST), "DV")
    assert [(row["USUBJID"], row["DVDECOD"], row["DVCAT"], row["DVSTDY"]) for row in dv] == [
        (sdtm_trial.usubjid(sdtm_trial.p1), "PROCEDURE", "MINOR", 1)
    ]
    _dm_reference_dates_death_and_arms(sdtm_trial)


def test_forms_and_visits_not_done(sdtm_trial) -> None:
    from assessments.services import form_not_done
    from tests.exports.dataset_fixtures import at

    p2 = sdtm_trial.p2
    with at(LATEST):
        form_not_done(
            actor=sdtm_trial.team.coordinator,
            ftype=form_type("labs"),
            participant=p2,
            visit=p2.visits.get(code="W1"),
            reason="Sample haemolysed",
            now=LATEST,
        )
    assert LabResults.objects.filter(participant=p2, entry_status="not_done").count() == 2
    lb = _where(rows_of(sdtm_trial.ctx(LATEST), "LB"), USUBJID=sdtm_trial.usubjid(p2))
    assert not _where(lb, LBCAT="HEMATOLOGY")
    # The whole panel, not done at selection and at week 1: one LBALL row each, undated.
    panel = _where(lb, LBTESTCD="LBALL")
    assert [(row["VISITNUM"], row["LBSTAT"], row["LBREASND"]) for row in panel] == [
        (1.0, "NOT DONE", "Sample haemolysed"),
        (4.0, "NOT DONE", "Sample haemolysed"),
    ]
    assert (panel[0]["LBORRES"] or "", panel[0]["LBDTC"], panel[0]["LBDY"]) == ("", "", None)
    assert (panel[0]["LBTEST"], panel[0]["EPOCH"]) == ("Labs Data", "SCREENING")
    _planned_visits_that_did_not_occur_are_in_sv(sdtm_trial)


def _dm_reference_dates_death_and_arms(sdtm_trial) -> None:
    from tests.exports.dataset_fixtures import at
    from trials.services.participants import participant_withdraw

    team, p2 = sdtm_trial.team, sdtm_trial.p2
    with at(LATEST):
        participant_withdraw(actor=team.coordinator, participant=p2, reason="Died", now=LATEST)
    save(team, "end_of_study", p2, {
        "status": "death", "last_contact_date": LATEST.date(), "reason": "Sudden cardiac death",
    }, now=LATEST)  # fmt: skip
    dm = {row["USUBJID"]: row for row in rows_of(sdtm_trial.ctx(LATEST, blinded=False), "DM")}
    msc, placebo = dm[sdtm_trial.usubjid(sdtm_trial.p1)], dm[sdtm_trial.usubjid(p2)]
    failed = dm[sdtm_trial.usubjid(sdtm_trial.p3)]
    names = ("RFSTDTC", "RFENDTC", "RFPENDTC", "DTHFL", "DTHDTC", "ARMCD", "ACTARMCD", "ARMNRS")
    assert [msc[name] for name in names] == [
        "2026-03-04", "", "", "", "", "MSC", "MSC", "",
    ]  # fmt: skip
    assert [placebo[name] for name in names] == [
        "2026-03-04", "2026-09-01", "2026-09-01", "Y", "2026-09-01", "PLACEBO", "PLACEBO", "",
    ]  # fmt: skip
    assert [failed[name] for name in names] == [
        "", "", "2026-03-02", "", "", None, None, "SCREEN FAILURE",
    ]  # fmt: skip
    # Death and the end of participation are not blinded; the arm is, alike for both.
    blinded = {row["USUBJID"]: row for row in rows_of(sdtm_trial.ctx(LATEST), "DM")}
    assert blinded[placebo["USUBJID"]]["DTHFL"] == "Y"
    assert {(row["ARMCD"], row["ACTARM"]) for row in blinded.values() if row["ARMCD"]} == {
        ("BLINDED", "Blinded")
    }


def _trial_design_elements_and_epochs(sdtm_trial) -> None:
    from exports.datasets.design import text_pieces
    from tests.personas import shipped_definition

    p1, p3 = sdtm_trial.usubjid(sdtm_trial.p1), sdtm_trial.usubjid(sdtm_trial.p3)
    unblinded, blinded = sdtm_trial.ctx(LATEST, blinded=False), sdtm_trial.ctx(LATEST)
    ts = {(row["TSPARMCD"], row["TSSEQ"]): row for row in rows_of(unblinded, "TS")}
    assert ts[("TPHASE", 1)]["TSVAL"] == "PHASE II TRIAL"
    assert ts[("TBLIND", 1)]["TSVAL"] == "TRIPLE BLIND"
    assert ts[("PLANSUB", 1)]["TSVAL"] == "20"
    assert [ts[("REGID", n)]["TSVAL"] for n in (1, 2)] == ["NCT03673748", "2022-000243-80"]
    assert ("COMPTRT", 1) in ts
    # From the protocol's indication, purpose and eligibility, and the first consent.
    blinded_ts = {(row["TSPARMCD"], row["TSSEQ"]): row for row in rows_of(blinded, "TS")}
    assert not {code for code, _ in blinded_ts} & {"TRT", "COMPTRT", "NARMS", "TCNTRL"}
    for found in (ts, blinded_ts):
        assert {code: found[(code, 1)]["TSVAL"] for code in (
            "INDIC", "TINDTP", "AGEMIN", "SEXPOP", "HLTSUBJI", "SSTDTC",
        )} == {
            "INDIC": "Lupus nephritis", "TINDTP": "TREATMENT", "AGEMIN": "P18Y",
            "SEXPOP": "BOTH", "HLTSUBJI": "N", "SSTDTC": "2026-03-02",
        }  # fmt: skip
        assert [found[("TTYPE", n)]["TSVAL"] for n in (1, 2)] == ["EFFICACY", "SAFETY"]
        # No upper age: a null value with its reason.
        assert (found[("AGEMAX", 1)]["TSVAL"], found[("AGEMAX", 1)]["TSVALNF"]) == ("", "PINF")
    assert (ts[("NARMS", 1)]["TSVAL"], ts[("TCNTRL", 1)]["TSVAL"]) == ("2", "PLACEBO")
    # DM's arms are those of TA, masked alike when blinded; each arm's path is two elements.
    for ctx in (unblinded, blinded):
        ta = rows_of(ctx, "TA")
        arms = {row["ARMCD"] for row in rows_of(ctx, "DM") if row["ARMCD"]}
        assert arms == {row["ARMCD"] for row in ta}
        assert {row["ETCD"] for row in rows_of(ctx, "TE")} == {row["ETCD"] for row in ta}
        assert [(row["TAETORD"], row["EPOCH"]) for row in ta[:2]] == [
            (1, "SCREENING"),
            (2, "TREATMENT"),
        ]
    se = _where(rows_of(unblinded, "SE"), USUBJID=p1)
    assert [(row["ETCD"], row["SESTDTC"], row["SEENDTC"]) for row in se] == [
        ("SCRN", "2026-03-02", "2026-03-04T10:00"),
        ("MSC", "2026-03-04T10:00", ""),
    ]
    assert [row["ETCD"] for row in _where(rows_of(blinded, "SE"), USUBJID=p1)] == ["SCRN", "INF"]
    assert [row["ETCD"] for row in _where(rows_of(blinded, "SE"), USUBJID=p3)] == ["SCRN"]
    # EPOCH from the elements: the pre-dose vital signs of Day 0 are still screening.
    vs = _where(rows_of(blinded, "VS"), USUBJID=p1, VSTESTCD="SYSBP")
    assert [row["EPOCH"] for row in vs] == ["SCREENING", "SCREENING", "TREATMENT", "TREATMENT"]
    assert {row["EPOCH"] for row in rows_of(blinded, "IE")} == {"SCREENING"}
    assert [row["VISITNUM"] for row in rows_of(blinded, "TV")][:3] == [1, 2, 3]
    # TI keeps every criterion in full over IETEST and its continuations; IE the short text.
    for name in ("nct03673748.yaml", "nct03917797.yaml"):
        definition = shipped_definition(name)
        for criterion in (*definition.eligibility.inclusion, *definition.eligibility.exclusion):
            pieces = text_pieces(criterion.text)
            assert " ".join(pieces) == " ".join(criterion.text.split())
            assert all(len(piece.encode()) <= 200 for piece in pieces) and len(pieces) <= 5
    ti = {row["IETESTCD"]: row for row in rows_of(blinded, "TI")}
    assert len(ti) == 32 and ti["EX16"]["IETEST2"] and not ti["IN01"]["IETEST1"]


def _planned_visits_that_did_not_occur_are_in_sv(sdtm_trial) -> None:
    from assessments.services.visits import visit_not_done
    from tests.exports.dataset_fixtures import at

    team, p2 = sdtm_trial.team, sdtm_trial.p2
    with at(LATEST):
        visit_not_done(
            actor=team.coordinator,
            visit=p2.visits.get(code="W1"),
            reason="Participant abroad",
            now=LATEST,
        )
    save(team, "deviation", p2, {
        "occurred_on": date(2026, 3, 11), "category": "missed_visit", "severity": "minor",
        "description": "Week 1 not done", "state": "confirmed",
    }, visit="W1", now=LATEST)  # fmt: skip
    ctx = sdtm_trial.ctx(LATEST)
    sv = rows_of(ctx, "SV")
    p2_sv = _where(sv, USUBJID=sdtm_trial.usubjid(p2))
    missed = _where(p2_sv, VISITNUM=4.0)[0]
    assert (missed["SVPRESP"], missed["SVOCCUR"], missed["SVREASOC"]) == (
        "Y",
        "N",
        "Participant abroad",
    )
    assert (missed["SVSTDTC"], missed["VISITDY"], missed["EPOCH"]) == ("", 8, "")
    assert {(row["SVPRESP"], row["SVOCCUR"]) for row in p2_sv if row is not missed} == {("Y", "Y")}
    unscheduled = _where(sv, VISITNUM=3.01)[0]
    assert (unscheduled["SVPRESP"], unscheduled["SVOCCUR"]) == ("", "")
    # Every visit a deviation names is in SV.
    visits = {(row["USUBJID"], row["VISITNUM"]) for row in sv}
    dv = [row for row in rows_of(ctx, "DV") if row["VISITNUM"] is not None]
    assert dv and {(row["USUBJID"], row["VISITNUM"]) for row in dv} <= visits
    # Before the visit was recorded as not done, SV did not have it.
    assert not _where(rows_of(sdtm_trial.ctx(AS_OF), "SV"), USUBJID=missed["USUBJID"], VISITNUM=4.0)


def test_medical_history_as_recorded_and_not_done(sdtm_trial) -> None:
    p1, p2 = sdtm_trial.usubjid(sdtm_trial.p1), sdtm_trial.usubjid(sdtm_trial.p2)
    for blinded in (True, False):
        mh = rows_of(sdtm_trial.ctx(blinded=blinded), "MH")
        # Two pre-specified conditions; the diagnosis date partial as entered; taken at
        # selection (2026-03-02), two days before the first infusion.
        assert [
            (row["MHTERM"], row["MHSTDTC"], row["MHOCCUR"], row["MHDTC"], row["MHDY"])
            for row in _where(mh, USUBJID=p1)
        ] == [
            ("Systemic lupus erythematosus", "2019-05", "Y", "2026-03-02", -2),
            ("Lupus nephritis", "", "Y", "2026-03-02", -2),
        ]
        assert {(row["MHCAT"], row["MHPRESP"], row["EPOCH"], row["VISITNUM"]) for row in mh} == {
            ("PRIMARY DIAGNOSIS", "Y", "SCREENING", 1.0)
        }
        skipped = _where(mh, USUBJID=p2)
        assert {(r["MHSTAT"], r["MHREASND"], r["MHOCCUR"], r["MHDTC"]) for r in skipped} == {
            ("NOT DONE", "Referral letter not yet received", "", "")
        }
        # No MedDRA release is loaded: nothing is coded.
        assert {row["MHDECOD"] for row in mh} == {""}
    # Before the history was taken, MH has nothing.
    assert rows_of(sdtm_trial.ctx(AS_OF.replace(month=3, day=2)), "MH") == []


def test_medical_history_coded_from_the_meddra_release_of_the_instant(sdtm_trial) -> None:
    from coding.models import Dictionary, DictionaryVersion, MeddraTerm

    release = DictionaryVersion.objects.create(
        dictionary=Dictionary.MEDDRA,
        version="27.1",
        loaded_at=AS_OF,
        loaded_by=sdtm_trial.team.trial_admin,
    )
    MeddraTerm.objects.create(
        version=release, llt_code="10025140", llt_name="Lupus nephritis",
        match_key="lupus nephritis", pt_code="10025140", pt_name="Lupus nephritis",
        hlt_code="1", hlt_name="H", hlgt_code="2", hlgt_name="G",
        soc_code="10038359", soc_name="Renal and urinary disorders",
    )  # fmt: skip
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    coded = _where(rows_of(sdtm_trial.ctx(LATEST), "MH"), USUBJID=p1)
    assert [(row["MHDECOD"], row["MHBODSYS"]) for row in coded] == [
        ("", ""),
        ("Lupus nephritis", "Renal and urinary disorders"),
    ]
    # An export as of before the release was loaded codes nothing.
    before = rows_of(sdtm_trial.ctx(AS_OF.replace(day=1)), "MH")
    assert {row["MHDECOD"] for row in before} == {""}


def test_childbearing_potential_in_rp_and_pregnancy_tests_in_lb(sdtm_trial) -> None:
    p1, p2 = sdtm_trial.usubjid(sdtm_trial.p1), sdtm_trial.usubjid(sdtm_trial.p2)
    for blinded in (True, False):
        ctx = sdtm_trial.ctx(blinded=blinded)
        rp = rows_of(ctx, "RP")
        assert [
            (row["VISITNUM"], row["RPORRES"], row["RPSTAT"], row["RPDTC"], row["RPDY"])
            for row in _where(rp, USUBJID=p1)
        ] == [
            (1.0, "Y", "", "2026-03-02", -2),
            (3.0, "Y", "", "2026-03-04", 1),
            (5.0, "", "NOT DONE", "", None),
        ]
        assert {(row["RPTESTCD"], row["RPTEST"]) for row in rp} == {
            ("CHILDPOT", "Childbearing Potential")
        }
        declined = _where(rp, USUBJID=p1, VISITNUM=5.0)[0]
        assert (declined["RPREASND"], declined["EPOCH"]) == (
            "Participant declined the test",
            "TREATMENT",
        )
        # Not applicable: dated by its visit, since no test was taken.
        assert _where(rp, USUBJID=p2, VISITNUM=1.0)[0]["RPORRES"] == "N"
        assert _where(rp, USUBJID=p2, VISITNUM=1.0)[0]["RPDTC"] == "2026-03-02"
        hcg = _where(rows_of(ctx, "LB"), USUBJID=p1, LBTESTCD="HCG")
        assert [
            (
                row["VISITNUM"],
                row["LBSPEC"],
                row["LBCAT"],
                row["LBORRES"] or "",
                row["LBSTAT"] or "",
            )
            for row in hcg
        ] == [
            (1.0, "SERUM", "CHEMISTRY", "NEGATIVE", ""),
            (3.0, "URINE", "URINALYSIS", "NEGATIVE", ""),
            (5.0, "", "", "", "NOT DONE"),
        ]
        assert {row["LBTEST"] for row in hcg} == {"Choriogonadotropin Beta"}
    # As of before week 4, the test not done there is in neither.
    assert not _where(rows_of(sdtm_trial.ctx(AS_OF.replace(day=31, month=3)), "RP"), VISITNUM=5.0)


def test_a_renal_assessment_and_vital_signs_not_done(sdtm_trial) -> None:
    from assessments.models import VitalSigns
    from ecrf.audit import audited_save
    from tests.exports.dataset_fixtures import at, not_done

    team, p1, p2 = sdtm_trial.team, sdtm_trial.p1, sdtm_trial.p2
    not_done(team, "renal", p2, "W4", "Participant did not attend the laboratory", now=LATEST)
    not_done(team, "sledai2k", p2, "W4", "Investigator unavailable", now=LATEST)
    # Vital signs are recorded per timepoint and a page cannot mark them not done; an import
    # can, and the selection record of P1 stands for it.
    vitals = VitalSigns.objects.get(participant=p1, visit__code="SEL")
    vitals.entry_status, vitals.not_done_reason = "not_done", "Monitor out of order"
    with at(LATEST):
        audited_save(vitals, actor=team.coordinator, reason="Imported", require_reason=False)
    ctx = sdtm_trial.ctx(LATEST)
    renal = _where(rows_of(ctx, "LB"), USUBJID=sdtm_trial.usubjid(p2), VISITNUM=5.0)
    # Each test the form collects; eGFR, derived from creatinine, is not a test not done.
    assert [(row["LBTESTCD"], row["LBSPEC"], row["LBSTAT"]) for row in renal] == [
        ("PROTCRT", "URINE", "NOT DONE"),
        ("CREAT", "SERUM", "NOT DONE"),
        ("RBC", "URINE", "NOT DONE"),
        ("WBC", "URINE", "NOT DONE"),
        ("RBCCAST", "URINE", "NOT DONE"),
        ("CELLCAST", "URINE", "NOT DONE"),
    ]
    assert {row["LBREASND"] for row in renal} == {"Participant did not attend the laboratory"}
    vs = _where(rows_of(ctx, "VS"), USUBJID=sdtm_trial.usubjid(p1), VISITNUM=1.0)
    assert [(row["VSTESTCD"], row["VSSTAT"], row["VSREASND"]) for row in vs] == [
        ("VSALL", "NOT DONE", "Monitor out of order")
    ]
    assert (vs[0]["VSORRES"] or "", vs[0]["VSDTC"], vs[0]["EPOCH"]) == ("", "", "SCREENING")
    # A SLEDAI-2K not done: its total, not done; the renal assessment gives no response.
    rs = _where(rows_of(ctx, "RS"), USUBJID=sdtm_trial.usubjid(p2), VISITNUM=5.0)
    assert [(row["RSTESTCD"], row["RSCAT"], row["RSSTAT"], row["RSREASND"]) for row in rs] == [
        ("SLDAITOT", "SLEDAI-2K", "NOT DONE", "Investigator unavailable")
    ]
