"""Review pages: the queue, one form under review with its queries beside the fields, SDV and
signatures, and the audit trail; what each role sees and may do; other sites get 404."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from assessments.services import form_save
from casebook.catalogue import form_type
from review.models import DataQuery, QueryStatus, Signature, SignatureScope, SourceVerification
from review.services import query_answer, query_open
from tests.assessments.test_infusion_form import ADMINISTRATION, PRODUCT
from tests.casebook.test_review_api import many_rows, sledai_elsewhere
from tests.personas import Team
from tests.world import ENTERED, enter_sledai, not_of_childbearing_potential
from trials.models import Participant


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(ENTERED, tick=False)
    return time_machine


@pytest.fixture
def form(msvle: Team, participant: Participant) -> Any:
    return enter_sledai(msvle, participant)


def text(response: Any) -> str:
    return response.getvalue().decode()  # a page, or a streamed download


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def record_url(form: Any, code: str = "sledai2k", suffix: str = "") -> str:
    return f"/review/participants/{form.participant_id}/{code}/{form.pk}/{suffix}"


def row(page: str, field: str) -> str:
    """The table row of one field on the review page."""
    found = re.search(rf'<tr id="field-{field}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row for {field}"
    return found.group(1)


def count(page: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(\d+)<', page)
    assert found, name
    return int(found.group(1))


def monitor_query(team: Team, form: Any, field: str = "dna") -> DataQuery:
    return query_open(
        actor=team.monitor,
        ftype=form_type("sledai2k"),
        record=form,
        field_name=field,
        text="Which lab report shows anti-dsDNA?",
        now=ENTERED,
    )


# The queue ----------------------------------------------------------------------------------


def test_monitor_queue_has_sections_with_counts_and_links(client, msvle, form) -> None:
    monitor_query(msvle, form)
    page = text(signed_in(client, msvle.monitor).get("/review/"))
    assert (count(page, "to_verify"), count(page, "open_queries")) == (1, 1)
    assert count(page, "answered_queries") == 0
    assert f'href="{record_url(form)}"' in page
    assert "Which lab report shows anti-dsDNA?" in page
    assert 'href="/review/">Review</a>' in page  # the nav link


def test_queue_and_record_pages_speak_spanish_to_a_spanish_monitor(client, msvle, form) -> None:
    monitor_query(msvle, form)
    msvle.monitor.language = "es"
    msvle.monitor.save(update_fields=["language"])
    client = signed_in(client, msvle.monitor)
    queue = text(client.get("/review/"))
    assert "Formularios introducidos, sin verificar" in queue
    assert "Forms entered, not verified" not in queue
    record = text(client.get(record_url(form)))
    assert "Verificación de datos fuente" in record and "Verificar con la fuente" in record
    assert "Source data verification" not in record


def test_queue_filters_for_all_site_roles(client, msvle, participant, form, data_manager) -> None:
    theirs = sledai_elsewhere(msvle)
    client = signed_in(client, data_manager)
    page = text(client.get("/review/"))
    assert count(page, "to_verify") == 2
    assert 'name="site"' in page
    assert count(text(client.get("/review/?site=ZZ01")), "to_verify") == 1
    mine = text(client.get(f"/review/?participant={participant.identifier}"))
    assert count(mine, "to_verify") == 1 and f'href="{record_url(form)}"' in mine
    assert f'href="{record_url(theirs)}"' not in mine


def test_other_sites_monitor_sees_nothing_of_this_site(client, msvle, form, monitor_b) -> None:
    monitor_query(msvle, form)
    page = text(signed_in(client, monitor_b).get("/review/"))
    assert (count(page, "to_verify"), count(page, "open_queries")) == (0, 0)
    assert record_url(form) not in page


def test_queue_refused_to_roles_outside_review(client, msvle, participant) -> None:
    for user in (msvle.statistician, msvle.pharmacist):
        client.force_login(user)
        assert client.get("/review/").status_code == 403
        assert 'href="/review/"' not in text(client.get("/"))


@pytest.mark.parametrize("rows", [2, 6])
def test_queue_page_query_count_does_not_grow(
    client, msvle, participant, clock, rows, django_assert_num_queries
) -> None:
    many_rows(msvle, participant, rows, clock)
    client.force_login(msvle.monitor)
    # 1 session, 2 user, 3 the workspace membership (view), 4 the sites I review (filter),
    # 5 my memberships for the scope, 6 the protocol versions and 7 the participants (SDV
    # plans, the sampled forms); counted: 8 the unverified forms (one UNION), 9 the open and
    # answered queries with their ages, 10 the visits; a page of 11 the forms, 12 the open and
    # 13 the answered queries, 14 the visits to sign (none overdue or missed: an empty page
    # reads nothing); base.html's context: 15 the workspace membership, 16 all my
    # memberships; 17-19 the session saved again. Nothing per row.
    with django_assert_num_queries(19):
        page = text(client.get("/review/"))
    assert (count(page, "to_verify"), count(page, "answered_queries")) == (rows, rows)


def test_queue_lists_are_paged_each_on_its_own_and_keep_the_filters(
    client, msvle, participant, clock, monitor_b, monkeypatch
) -> None:
    monkeypatch.setattr("ecrf.pagination.PAGE_SIZE_SHOWN", 2)
    many_rows(msvle, participant, 3, clock)
    client.force_login(msvle.monitor)
    mine = f"participant={participant.identifier}"
    first = text(client.get(f"/review/?{mine}"))
    assert (count(first, "to_verify"), count(first, "open_queries")) == (3, 3)
    assert len(re.findall(r'<tr id="verify-', first)) == 2
    assert len(re.findall(r'<tr id="queue-query-', first)) == 4  # open and answered: 2 each
    assert f'href="?{mine}&amp;to_verify_page=2#to-verify"' in first
    second = text(client.get(f"/review/?{mine}&to_verify_page=2&open_queries_page=2"))
    assert count(second, "to_verify") == 3
    assert len(re.findall(r'<tr id="verify-', second)) == 1
    assert len(re.findall(r'<tr id="queue-query-', second)) == 3  # one open, two answered
    assert f'href="?{mine}&amp;open_queries_page=2&amp;to_verify_page=1#to-verify"' in second
    # Past the end is the last page; not a number is the first.
    assert len(re.findall(r'<tr id="verify-', text(client.get("/review/?to_verify_page=9")))) == 1
    assert len(re.findall(r'<tr id="verify-', text(client.get("/review/?to_verify_page=x")))) == 2

    # The other site's monitor sees none of these rows on any page.
    client.force_login(monitor_b)
    for number in (1, 2):
        theirs = text(client.get(f"/review/?to_verify_page={number}&open_queries_page={number}"))
        assert (count(theirs, "to_verify"), count(theirs, "open_queries")) == (0, 0)
        assert f"/review/participants/{participant.pk}/" not in theirs


# One form under review ----------------------------------------------------------------------


def test_monitor_sees_the_data_and_opens_a_query_beside_the_field(client, msvle, form) -> None:
    client = signed_in(client, msvle.monitor)
    page = text(client.get(record_url(form)))
    dna = row(page, "dna")
    assert "Increased DNA binding" in dna and "Yes" in dna
    assert "Open a query on this field" in dna
    assert "Verify against source" in page
    assert 'id="sign-form"' not in page
    assert 'class="query-answer"' not in page

    response = client.post(
        record_url(form, suffix="queries/"), {"field_name": "dna", "text": "Which report?"}
    )
    assert response.status_code == 302
    assert response["Location"] == record_url(form) + "#field-dna"
    query = DataQuery.objects.get()
    assert (query.field_name, query.status, query.opened_by) == ("dna", "open", msvle.monitor)
    page = text(client.get(record_url(form)))
    assert "Query opened." in page
    assert f'id="query-{query.pk}"' in row(page, "dna")
    assert "Which report?" in row(page, "dna")
    assert "Which report?" not in row(page, "prot")


def test_site_answers_monitor_closes_and_data_manager_reopens_on_the_page(
    client, msvle, form, data_manager, clock
) -> None:
    query = monitor_query(msvle, form)
    step = f"/review/queries/{query.pk}/"

    coordinator = signed_in(Client(), msvle.coordinator)
    page = text(coordinator.get(record_url(form)))
    assert 'class="query-answer"' in row(page, "dna")
    assert "Open a query on this field" not in page
    assert "Verify against source" not in page
    answered = coordinator.post(
        f"{step}answer/", {"response_code": "confirmed_correct", "text": "Report of 28 March."}
    )
    assert answered["Location"] == record_url(form) + f"#query-{query.pk}"
    assert DataQuery.objects.get().status == QueryStatus.ANSWERED

    monitor = signed_in(Client(), msvle.monitor)
    page = text(monitor.get(record_url(form)))
    assert "Close query" in row(page, "dna") and "Re-query" in row(page, "dna")
    monitor.post(f"{step}close/", {"text": ""})
    assert DataQuery.objects.get().status == QueryStatus.CLOSED

    manager = signed_in(Client(), data_manager)
    refused = text(manager.post(f"{step}reopen/", {"text": ""}, follow=True))
    assert "Write the reason for re-opening." in refused
    manager.post(f"{step}reopen/", {"text": "The second report differs."})
    assert DataQuery.objects.get().status == QueryStatus.OPEN
    page = text(manager.get(record_url(form)))
    assert "Re-opened" in row(page, "dna") and "The second report differs." in page


def test_monitor_verifies_and_the_state_shows(client, msvle, form) -> None:
    client = signed_in(client, msvle.monitor)
    assert "Not verified" in text(client.get(record_url(form)))
    response = client.post(record_url(form, suffix="sdv/"))
    assert response["Location"] == record_url(form) + "#sdv"
    page = text(client.get(record_url(form)))
    assert "Source data verified." in page
    assert 'data-state="verified"' in page and "version 1" in page
    assert "Verify against source" not in page
    assert 'data-state="override"' not in page
    assert SourceVerification.objects.get().verified_by == msvle.monitor


def test_the_monitor_verifies_ticked_fields_and_each_field_shows_its_state(
    client, msvle, form
) -> None:
    client.force_login(msvle.coordinator)
    client.post(record_url(form, suffix="sdv/"), {"scope": "fields", "fields": ["dna"]})
    assert not SourceVerification.objects.exists()
    client = signed_in(client, msvle.monitor)
    page = text(client.get(record_url(form)))
    # SLEDAI-2K is verified in full; its assessment date is critical.
    assert "Critical" in row(page, "assessment_date") and "Critical" not in row(page, "dna")
    assert 'data-sdv="required"' in row(page, "dna")
    assert 'name="fields" value="dna" form="sdv-form"' in page
    client.post(record_url(form, suffix="sdv/"), {"scope": "fields", "fields": ["dna"]})
    sdv = SourceVerification.objects.get()
    assert (sdv.verified_fields, sdv.complete) == (["dna"], False)
    page = text(client.get(record_url(form)))
    assert 'data-state="partly-verified"' in page and "1 field verified" in page
    assert 'data-sdv="verified"' in row(page, "dna")
    assert 'value="dna" form="sdv-form"' not in page
    client.post(record_url(form, suffix="sdv/"), {"scope": "form"})
    sdv.refresh_from_db()
    assert sdv.complete and 'data-state="verified"' in text(client.get(record_url(form)))


def test_sdv_with_an_open_query_needs_an_override_and_a_reason(client, msvle, form) -> None:
    monitor_query(msvle, form)
    client = signed_in(client, msvle.monitor)
    page = text(client.get(record_url(form)))
    assert 'data-state="queries-open"' in page and 'name="override"' in page
    refused = text(client.post(record_url(form, suffix="sdv/"), follow=True))
    assert "This form has 1 unresolved query. Resolve it first" in refused
    no_reason = text(client.post(record_url(form, suffix="sdv/"), {"override": "on"}, follow=True))
    assert "Give the reason for verifying while a query is unresolved." in no_reason
    assert not SourceVerification.objects.exists()

    client.post(record_url(form, suffix="sdv/"), {"override": "on", "reason": "Lab report seen"})
    sdv = SourceVerification.objects.get()
    assert (sdv.open_queries, sdv.override_reason) == (1, "Lab report seen")
    entry = sdv.history.get()
    assert (entry.history_user, entry.override_reason) == (msvle.monitor, "Lab report seen")
    assert "(override): Lab report seen" in entry.history_change_reason
    page = text(client.get(record_url(form)))
    override = re.search(r'data-state="override">(.*?)</p>', page, re.S).group(1)
    assert "1 query was unresolved." in override and "Lab report seen" in override


def test_investigator_signs_the_visit_with_the_password(client, msvle, form) -> None:
    client = signed_in(client, msvle.investigator)
    page = text(client.get(record_url(form)))
    assert 'id="sign-form"' in page and "I confirm these data are accurate and complete." in page
    wrong = text(
        client.post(
            record_url(form, suffix="sign/"), {"scope": "visit", "password": "no"}, follow=True
        )
    )
    assert "The password is not correct; nothing was signed." in wrong
    outstanding = re.search(r'id="outstanding-visit">(.*?)</div>', page, re.S).group(1)
    assert "SLEDAI-2K (W4) is not source-verified." in outstanding
    assert "Forms missing at visit W4: " in outstanding
    assert 'name="acknowledged"' in page
    unacknowledged = text(
        client.post(
            record_url(form, suffix="sign/"),
            {"scope": "visit", "password": msvle.password},
            follow=True,
        )
    )
    assert "Confirm that you sign with these outstanding; nothing was signed." in unacknowledged
    assert not Signature.objects.exists()
    client.post(
        record_url(form, suffix="sign/"),
        {"scope": "visit", "password": msvle.password, "acknowledged": "on"},
    )
    signature = Signature.objects.get()
    assert (signature.scope, signature.visit_id) == (SignatureScope.VISIT, form.visit_id)
    page = text(client.get(record_url(form)))
    visit = re.search(r'<li id="signature-visit">(.*?)</li>', page, re.S).group(1)
    assert "Signed" in visit and "Not signed" not in visit
    assert "Not signed" in re.search(r'<li id="signature-form">(.*?)</li>', page, re.S).group(1)


def test_wrong_role_gets_403_and_other_site_404(client, msvle, form, monitor_b) -> None:
    query = monitor_query(msvle, form)
    coordinator = signed_in(Client(), msvle.coordinator)
    assert coordinator.post(record_url(form, suffix="sdv/")).status_code == 403
    refused = coordinator.post(record_url(form, suffix="queries/"), {"text": "Me?"})
    assert refused.status_code == 403
    assert "Your role does not allow you to open queries." in text(refused)
    monitor = signed_in(Client(), msvle.monitor)
    assert (
        monitor.post(
            record_url(form, suffix="sign/"), {"scope": "casebook", "password": msvle.password}
        ).status_code
        == 403
    )

    other = signed_in(Client(), monitor_b)
    assert other.get(record_url(form)).status_code == 404
    assert other.post(record_url(form, suffix="queries/"), {"text": "x"}).status_code == 404
    assert other.post(record_url(form, suffix="sdv/")).status_code == 404
    step = f"/review/queries/{query.pk}/close/"
    assert other.post(step, {"text": ""}).status_code == 404
    assert signed_in(Client(), msvle.pharmacist).get(record_url(form)).status_code == 404
    assert not SourceVerification.objects.exists()
    assert DataQuery.objects.count() == 1


def test_infusion_review_page_is_blinded_for_the_monitor(client, msvle, participant) -> None:
    d0 = participant.visits.get(code="D0")
    not_of_childbearing_potential(msvle, participant, now=ENTERED)
    form_save(
        actor=msvle.coordinator,
        ftype=form_type("infusion"),
        participant=participant,
        visit=d0,
        data=ADMINISTRATION,
        now=ENTERED,
    )
    infusion = form_save(
        actor=msvle.pharmacist,
        ftype=form_type("infusion"),
        participant=participant,
        visit=d0,
        data={**PRODUCT, "cell_count_1e6": Decimal("127.35")},
        expected_version=1,
        reason="Product record",
        now=ENTERED,
    )
    url = record_url(infusion, "infusion")
    page = text(signed_in(client, msvle.monitor).get(url))
    assert 'id="field-volume_ml"' in page
    for hidden in ("cell_count_1e6", "127.35", "K-0042", "kit number", "viable cells"):
        assert hidden not in page
    pharmacy = text(signed_in(Client(), msvle.pharmacist).get(url))
    assert 'id="field-cell_count_1e6"' in pharmacy and "127.35" in pharmacy


def test_entry_page_links_to_the_review_page(client, msvle, form) -> None:
    page = text(
        signed_in(client, msvle.coordinator).get(
            f"/casebook/{form.participant_id}/sledai2k/{form.pk}/"
        )
    )
    assert f'href="{record_url(form)}"' in page


def test_record_page_query_count_does_not_grow(client, msvle, form) -> None:
    def queries_for(n: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for field in ("dna", "prot", "hemat", "casts")[:n]:
            query = monitor_query(msvle, form, field)
            query_answer(
                actor=msvle.coordinator,
                query=query,
                response_code="other",
                text="See the notes.",
                now=ENTERED,
            )
        with CaptureQueriesContext(connection) as captured:
            client.get(record_url(form))
        return len(captured)

    client.force_login(msvle.monitor)
    assert queries_for(1) == queries_for(3)


# The audit trail page -----------------------------------------------------------------------


def test_audit_trail_page_filters_and_links_the_csv(
    client, msvle, participant, form, clock
) -> None:
    clock.shift(timedelta(days=2))
    enter_sledai(
        msvle,
        participant,
        data={"arth": True},
        actor=msvle.coordinator,
        expected_version=1,
        reason="Arthritis at the visit",
    )
    client = signed_in(client, msvle.monitor)
    url = f"/review/participants/{participant.pk}/audit-trail/"
    page = text(client.get(url))
    assert "Arthritis at the visit" in page and "Consent" in page
    filtered = text(client.get(f"{url}?form=sledai2k&since=2026-09-02"))
    assert filtered.count('data-form="sledai2k"') == 3  # arth, total, clinical total
    assert 'data-form="consent"' not in filtered
    assert (
        f'href="/review/participants/{participant.pk}/audit-trail.csv?form=sledai2k&amp;'
        "since=2026-09-02" in filtered
    )
    csv_text = text(
        client.get(
            f"/review/participants/{participant.pk}/audit-trail.csv?form=sledai2k&since=2026-09-02"
        )
    )
    assert csv_text.startswith("when,who,username,form_code,form,record_id,visit,field")
    assert "Arthritis at the visit" in csv_text
    other = signed_in(Client(), msvle.other_coordinator)
    assert other.get(url).status_code == 404
