"""The access sweep: every route of the URL configuration, with a rule saying what its URL
parameters name, requested by every role at its own site, at another site and in another trial.

A route with no rule fails the sweep, so a new endpoint cannot be added without saying whose
data it shows. What is asserted of every answer: no server error, no participant the user may
not see, no arm for a blinded role, and no write by anyone outside the data's trial and site.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import system_actor
from assessments.selectors import revealing_fields
from casebook.catalogue import form_types
from demo.synthetic import Mix, generate_synthetic
from ecrf.access import SITE_ROLES, Role
from ecrf.audit import audited_save
from review.models import DataQuery
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, SiteFactory, UserFactory
from tests.personas import load
from trials.models import Participant, RoleGrantRequest, Site, Trial

# Roles of the sweep: every trial role, someone with no membership, and a platform operator.
ROLES = (*[str(role) for role in Role], "outsider", "operator")
BLINDED = {r for r in ROLES if r not in (Role.PHARMACIST, Role.UNBLINDED_STATISTICIAN)}
SCOPES = ("own", "site", "trial")
# Synthetic participants of the sweep's trials; enough to give every kind of record.
PARTICIPANTS = 8
MIX = Mix(screen_fail=0.15, withdraw=0.15, lost=0.1)
# Tables that change on any request or sign-in and say nothing of trial data.
UNWATCHED = re.compile(r"^(django_session|axes_|django_celery_beat_|ecrf_heartbeat)")
# Fields sent with every write: enough for the writes that need only a reason or password.
WRITE_BODY = {
    "reason": "Access sweep",
    "password": DEFAULT_PASSWORD,
    "text": "Access sweep",
    "comment": "Access sweep",
    "name": "sweep",
    "format": "csv",
    "step": "close",
    "role": Role.MONITOR,
    "username": "sweep_user",
    "email": "sweep@example.org",
}
UNSAFE = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    params: tuple[str, ...]
    api: bool
    # The form named by a `form_code` parameter: each form's API is swept on its own.
    form: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}[{self.form}]" if self.form else self.name


def routes() -> list[Route]:
    """Every named route of the project, without Django's admin and the static files."""
    found: list[Route] = []

    def walk(patterns: Any, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                if pattern.startswith("admin/"):
                    continue
                name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
                params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
                route = Route(name, pattern, params, pattern.startswith("api/"))
                if route.api and "form_code" in params:
                    found.extend(replace(route, form=code) for code in form_types())
                else:
                    found.append(route)

    walk(get_resolver().url_patterns, "", "")
    return found


@dataclass
class Scope:
    """The records of one trial and site that a route's parameters can name."""

    name: str
    trial: Trial
    site: Site
    participants: list[Participant]
    objects: dict[str, Any] = field(default_factory=dict)

    @property
    def participant(self) -> Participant:
        return self.participants[0]

    def record(self, form_code: str) -> Any:
        model = form_types()[form_code].model
        return model.objects.filter(participant__in=self.participants).order_by("pk").first()

    def identifiers(self) -> set[str]:
        found = set()
        for p in self.participants:
            found |= {p.screening_number, p.subject_id or ""} - {""}
        return found


@dataclass
class World:
    trial: Trial
    other_trial: Trial
    home: Site
    other_site: Site
    users: dict[str, User]
    scopes: dict[str, Scope]
    tokens: dict[str, Any] = field(default_factory=dict)

    def token_for(self, role: str, *, mine: bool) -> Any:
        """The role's own API token, or another person's."""
        if mine:
            return self.tokens[role]
        return self.tokens["data_manager" if role != "data_manager" else "trial_admin"]

    def visible_identifiers(self, role: str) -> set[str]:
        if role in ("outsider", "operator"):
            return set()
        if role in SITE_ROLES:
            return self.scopes["own"].identifiers()
        return self.scopes["own"].identifiers() | self.scopes["site"].identifiers()

    def all_identifiers(self) -> set[str]:
        return set().union(*(scope.identifiers() for scope in self.scopes.values()))


def _move(participants: list[Participant], site: Site) -> None:
    """Put synthetic participants, with their alerts, queries and locks, at another site."""
    ids = [p.pk for p in participants]
    Participant.objects.filter(pk__in=ids).update(site=site)
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "site" in names and "participant" in names and model is not Participant:
            model._base_manager.filter(participant_id__in=ids).update(site=site)
    for p in participants:
        p.refresh_from_db()


def build_world() -> World:
    """Two trials with synthetic data: the first with a home site and another site, the
    second trial with its own site; the sweep's users hold their roles at the home site."""
    trial = load("nct03673748.yaml")
    other_trial = load("nct03917797.yaml")
    for code in (trial.code, other_trial.code):
        generate_synthetic(trial_code=code, participants=PARTICIPANTS, mode="bulk", mix=MIX)
    home = trial.sites.order_by("code").first()
    assert home is not None
    other_site = SiteFactory(trial=trial, code="ZZ01", name="Other hospital")
    on_trial = list(trial.participants.order_by("pk"))
    # Half of the first trial's participants (randomized ones first) move to the other site.
    on_trial.sort(key=lambda p: (p.subject_id == "", p.pk))
    moved = on_trial[1::2]
    _move(moved, other_site)
    users = {}
    for role in ROLES:
        user = UserFactory(username=f"sweep_{role}", printed_name=f"Sweep {role}")
        if role == "operator":
            user.is_superuser = user.is_staff = True
            user.save()
        elif role != "outsider":
            at = home if role in SITE_ROLES else None
            MembershipFactory(user=user, trial=trial, site=at, role=role)
        users[role] = user
    kept = [p for p in on_trial if p not in moved]
    scopes = {
        "own": Scope("own", trial, home, kept),
        "site": Scope("site", trial, other_site, moved),
        "trial": Scope(
            "trial",
            other_trial,
            other_trial.sites.order_by("code").first(),
            list(other_trial.participants.order_by("pk")),
        ),
    }
    system = system_actor()
    for scope in scopes.values():
        _collect(scope, system)
    return World(trial, other_trial, home, other_site, users, scopes)


def _collect(scope: Scope, system: User) -> None:
    """A record of each kind in the scope for routes that name one, made where the synthetic
    data has none."""
    from alerts.models import Alert, AlertKind
    from archive.models import SiteArchive
    from exports.models import Export
    from review.models import Lock, LockLevel
    from safety.models import AdverseEvent, PregnancyReport
    from visits.models import Visit
    from visits.services import participant_register

    now = timezone.now()
    people = scope.participants
    person = scope.participant
    visit = Visit.objects.filter(participant=person).order_by("pk").first()
    scope.objects["visit"] = visit
    scope.objects["query"] = DataQuery.objects.filter(participant__in=people).order_by("pk").first()
    scope.objects["alert"] = Alert.objects.filter(participant__in=people).order_by("pk").first()
    if scope.objects["alert"] is None:
        scope.objects["alert"] = audited_save(
            Alert(
                trial=scope.trial,
                site=scope.site,
                participant=person,
                visit=visit,
                kind=AlertKind.VISIT_MISSED,
                source_key=f"sweep-{person.pk}",
                occurred_at=now,
                created_at=now,
                message="Visit missed",
            ),
            actor=system,
        )
    scope.objects["lock"] = Lock.objects.filter(participant__in=people).order_by("pk").first()
    if scope.objects["lock"] is None:
        scope.objects["lock"] = audited_save(
            Lock(
                level=LockLevel.PARTICIPANT,
                trial=scope.trial,
                site=scope.site,
                participant=people[-1],
                locked_by=system,
                locked_at=now,
                reason="Access sweep",
            ),
            actor=system,
        )
    scope.objects["export"] = audited_save(
        Export(
            trial=scope.trial,
            protocol_version=person.protocol_version,
            format="csv",
            as_of=now,
            requested_by=system,
            created_at=now,
        ),
        actor=system,
    )
    scope.objects["site_archive"] = audited_save(
        SiteArchive(
            trial=scope.trial,
            site=scope.site,
            lock=scope.objects["lock"],
            as_of=now,
            requested_by=system,
            created_at=now,
        ),
        actor=system,
    )
    scope.objects["cohort"] = scope.trial.cohorts.order_by("pk").first()
    scope.objects["adverse_event"] = (
        AdverseEvent.objects.filter(participant__in=people).order_by("pk").first()
    )
    if not PregnancyReport.objects.filter(participant__in=people).exists():
        # The synthetic data have no pregnancy: one for the routes that name a record.
        audited_save(
            PregnancyReport(
                participant=person,
                protocol_version=person.protocol_version,
                site_awareness_at=now,
                report_due_at=now,
                entered_at=now,
                updated_at=now,
            ),
            actor=system,
        )
    member = UserFactory(username=f"sweep_{scope.name}_coordinator")
    membership = MembershipFactory(
        user=member, trial=scope.trial, site=scope.site, role=Role.COORDINATOR
    )
    scope.objects["membership"], scope.objects["user"] = membership, member
    # A participant just registered has a short casebook to print, where a synthetic one's
    # takes a minute.
    scope.objects["short_participant"] = participant_register(
        actor=member, site=scope.site, sex="F", date_of_birth=date(1990, 5, 17), now=now
    )
    scope.objects["request"] = audited_save(
        RoleGrantRequest(
            trial=scope.trial,
            site=scope.site,
            user=member,
            role=Role.PHARMACIST,
            reason="Access sweep",
            requested_by=system,
            requested_at=now,
        ),
        actor=system,
    )
    release_model = next(m for m in apps.get_models() if m.__name__ == "DsmbRelease")
    scope.objects["release"] = audited_save(
        release_model(
            trial=scope.trial,
            recipient=system,
            reason="Access sweep",
            granted_by=system,
            granted_at=now,
        ),
        actor=system,
    )


def kwargs_for(route: Route, scope: Scope, world: World, role: str) -> dict[str, Any] | None:
    """The URL parameters that name the scope's records for `route`, or None where the scope
    has no such record."""
    rule = rule_for(route.name)
    values: dict[str, Any] = {}
    for param in route.params:
        value = rule.bind(param, route, scope, world, role)
        if value is None:
            return None
        values[param] = value
    return values


@dataclass(frozen=True)
class Rule:
    """What a route's parameters name. `owner` says whose data the route shows: "trial" data
    (scoped by trial and site), the user's "own" data, or "none" (public or per-user pages)."""

    owner: str
    pk: str = ""  # what a bare `pk` parameter names
    code: str = "trial"  # what a `code` parameter names: the trial, or a form
    # The health check answers 503 while no worker runs, as in the tests.
    may_be_unavailable: bool = False
    # The API's description names allocation fields; it holds no participant's data.
    describes_the_api: bool = False
    # A trial's staff is also managed by platform operators (a trial's first administrator,
    # the second person for a role that needs one).
    operators_manage: bool = False
    # The route prints a PDF, which takes seconds: it is asked as every role that must be
    # refused, but of the other roles only as `PRINTED_BY`, and about the scope's participant
    # just registered there. The sweep cannot read a PDF's text anyway; tests/archive print
    # them and read them back.
    prints: bool = False

    def bind(self, param: str, route: Route, scope: Scope, world: World, role: str) -> Any:
        objects = scope.objects
        if param == "participant_id" and self.prints:
            return scope.objects["short_participant"].pk
        if param in ("participant_id",) or (param == "pk" and self.pk == "participant"):
            return scope.participant.pk
        if param == "pk":
            found = objects.get(self.pk)
            return found.pk if found is not None else None
        if param == "code":
            return scope.trial.code if self.code == "trial" else self.code
        if param in ("visit_id",):
            return objects["visit"].pk if objects.get("visit") else None
        if param == "record_id":
            form_code = self.code if self.code != "trial" else _form_of(route)
            record = scope.record(form_code)
            return record.pk if record is not None else None
        if param == "form_code":
            return self.code if self.code != "trial" else _form_of(route)
        if param in FIXED:
            return FIXED[param]
        if param == "token_id":
            return world.token_for(role, mine=scope.name == "own").pk
        if param.endswith("_id"):
            found = objects.get(param.removesuffix("_id"))
            return found.pk if found is not None else None
        raise AssertionError(f"{route.name}: no binding for the parameter {param!r}")


# The one role of those that may have a printed PDF that the sweep asks for it.
PRINTED_BY = Role.MONITOR

# Parameters that name no record: an invitation link that is not valid, a query's step, a
# chart.
FIXED = {
    "uidb64": "MQ",
    "token": "not-a-valid-link",
    "step": "close",
    "measure": "upcr",
    "chart": "enrolment",
}


def _form_of(route: Route) -> str:
    return route.form or "vitals"


def rule_for(name: str) -> Rule:
    for pattern, rule in RULES.items():
        if re.fullmatch(pattern, name):
            return rule
    raise KeyError(name)


PUBLIC = Rule("none")
OWN = Rule("own")
PARTICIPANT = Rule("trial", pk="participant")
TRIAL = Rule("trial")
STAFF = Rule("trial", operators_manage=True)
# Every route of the project; a route missing here fails `test_every_route_has_a_rule`.
RULES: dict[str, Rule] = {
    # Pages
    r"home|choose-workspace|login|logout|set-language|set_language": PUBLIC,
    r"two-factor(-setup|-verify|-recovery-codes|-disable)?": PUBLIC,
    r"set-password|set-password-done": PUBLIC,
    r"tokens|token-revoke": OWN,
    r"health": Rule("none", may_be_unavailable=True),
    r"api-schema|api-docs": Rule("none", describes_the_api=True),
    r"trials:participant-list|trials:participant-register": TRIAL,
    r"trials:(participant|consent|eligibility-answer|confirm|screen-fail|randomize|enrol|day0"
    r"|withdraw|lost|complete|unblind|reconfirm)": Rule("trial", pk="participant"),
    r"trials:visit-record": Rule("trial", pk="visit"),
    r"trials:allocation": PARTICIPANT,
    r"trials:(staff|staff-history|staff-grant|staff-invite)": STAFF,
    r"trials:staff-end": Rule("trial", pk="membership", operators_manage=True),
    r"trials:(staff-remove|staff-resend)": Rule("trial", pk="user", operators_manage=True),
    r"trials:(staff-approve|staff-reject)": Rule("trial", pk="request", operators_manage=True),
    r"casebook:(grid|log|entry-new|preview-new|not-done|entry-edit|preview-edit|history)": Rule(
        "trial", code="vitals"
    ),
    r"casebook:trial-grid|search": TRIAL,
    r"casebook:(charts|chart-svg)": PARTICIPANT,
    r"casebook:(trial-charts|trial-chart-svg)": TRIAL,
    r"alerts:(list|nav)": TRIAL,
    r"alerts:acknowledge": Rule("trial", pk="alert"),
    r"safety:clock": TRIAL,
    r"coding:(list|autocode)": TRIAL,
    r"coding:record": Rule("trial", code="adverse_events"),
    r"review:queue|review:bulk-sign": TRIAL,
    r"review:(monitoring|monitoring-trends|visit-report|visit-report-csv)": TRIAL,
    r"review:(record|query-open|sdv|sign)": Rule("trial", code="vitals"),
    r"review:query-step": Rule("trial", pk="query"),
    r"review:(audit-trail|audit-trail-csv)": PARTICIPANT,
    r"exports:(list|request)": TRIAL,
    r"exports:(row|download)": Rule("trial", pk="export"),
    r"archive:casebook-pdf": Rule("trial", prints=True),
    r"archive:annotated-crf-pdf": Rule("trial", prints=True),
    r"archive:(site-archives|site-archive-request|annotated-crf)": TRIAL,
    r"archive:(site-archive-row|site-archive-download)": Rule("trial", pk="site_archive"),
    # API
    r"api:me": OWN,
    r"api:(token-list|token-revoke)": OWN,
    r"api:trial-(list|detail)": TRIAL,
    r"api:(participant-list|cohort-list|allocation-import|sae-clock)": TRIAL,
    r"api:review-queue(-[a-z-]+)?": TRIAL,
    r"api:monitoring": TRIAL,
    r"api:adverse-event-report": Rule("trial", pk="adverse_event"),
    r"api:participant-[a-z0-9-]+": PARTICIPANT,
    r"api:visit-(record|not-done|unscheduled)": TRIAL,
    r"api:cohort-safety-review": TRIAL,
    r"api:casebook": PARTICIPANT,
    r"api:form-(list|not-done|detail|history)": PARTICIPANT,
    r"api:form-sdv": Rule("trial", code="vitals"),
    r"api:(alert-list|alert-detail|alert-acknowledge)": TRIAL,
    r"api:(query-list|query-detail|query-answer|query-close|query-requery|query-reopen)": TRIAL,
    r"api:(lock-list|lock-release)": TRIAL,
    # GET lists the visits awaiting the investigator's signature; POST signs them.
    r"api:visit-signatures": TRIAL,
    r"api:(export-list|export-detail|export-download)": TRIAL,
    r"api:(dsmb-release-list|dsmb-release-revoke)": TRIAL,
    r"api:trial-(memberships|membership-end|role-requests|role-request-approve"
    r"|role-request-reject|user-invite|user-remove|user-resend-invitation)": STAFF,
    r"api:allocation-read-list": TRIAL,
}


# Asking -----------------------------------------------------------------------------------


def fingerprint() -> tuple[int, ...]:
    """Row counts of every watched table and the revoked tokens: a write changes one."""
    tables = sorted(t for t in connection.introspection.table_names() if not UNWATCHED.match(t))
    quote = connection.ops.quote_name
    # Names from the database's own catalogue, no value from a request.
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        row = cursor.fetchone()
    revoked = ApiToken.objects.filter(revoked_at__isnull=False).count()
    return (*row, revoked)


def client_for(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def ask(client: Client, method: str, url: str, api: bool) -> Any:
    if method == "get":
        return client.get(url, HTTP_ACCEPT="application/json" if api else "text/html")
    if api:
        return getattr(client, method)(
            url, data=json.dumps(WRITE_BODY), content_type="application/json"
        )
    return client.post(url, data=WRITE_BODY)


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def revealing_names(world: World) -> set[str]:
    """Form fields that reveal the arm, in either trial."""
    names: set[str] = set()
    for scope in world.scopes.values():
        for ftype in form_types().values():
            names |= revealing_fields(ftype, scope.participant)
    return names


def shows_an_arm(text: str, names: set[str]) -> str:
    """What in a response body shows an arm: an allocation key, a revealing field, or the
    treatment to prepare; empty when nothing does."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if data is not None:
        for key, value in _pairs(data):
            if key in ("arm", "arm_code", "allocation") and value not in (None, "", {}):
                return f"{key}={value!r}"
            if key in names and value not in (None, "", [], {}):
                return f"{key}={value!r}"
        return ""
    for name in names:
        if re.search(rf'(name|data-field)="{re.escape(name)}"', text):
            return f"field {name}"
    if 'id="treatment"' in text:
        return "treatment to prepare"
    return ""


def _pairs(data: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key), value
            yield from _pairs(value)
    elif isinstance(data, list):
        for item in data:
            yield from _pairs(item)
