"""The investigator's signing desk: completed visits at their sites awaiting a visit signature,
and what a change to a form would void."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from casebook.outstanding import Outstanding, visits_outstanding
from ecrf.access import Role
from ecrf.errors import NotFoundError, PermissionDeniedError
from ecrf.site_time import site_clock_text
from review.models import Signature, SignatureScope
from review.services.records import review_marks_covering
from trials.access import holds_role, scope_queryset
from visits.models import Visit, VisitStatus

# The desk shows this many visits, oldest first; signing them brings up the next ones.
SHOWN = 50


@dataclass(frozen=True)
class VisitToSign:
    visit: Visit
    outstanding: Outstanding
    # The last visit signature a later change voided: the visit is to be signed again.
    voided: Signature | None

    @property
    def to_sign_again(self) -> bool:
        return self.voided is not None


def visits_awaiting_signature(user: Any) -> QuerySet[Visit]:
    """Completed visits without a valid visit signature at the user's investigator sites;
    `resign` says whether a change voided an earlier one. Those to sign again come first,
    then the oldest."""
    signatures = Signature.objects.filter(scope=SignatureScope.VISIT, visit_id=OuterRef("pk"))
    return (
        scope_queryset(
            Visit.objects.filter(status=VisitStatus.COMPLETED),
            user,
            trial_field="participant__trial",
            site_field="participant__site",
            roles={Role.INVESTIGATOR},
        )
        .annotate(
            signed=Exists(signatures.filter(voided_at__isnull=True)),
            resign=Exists(signatures.filter(voided_at__isnull=False)),
        )
        .filter(signed=False)
        .select_related("participant__site", "participant__trial")
        .order_by("-resign", "actual_date", "participant__screening_number", "pk")
    )


def visits_due(
    user: Any,
    *,
    trial: str | None = None,
    site: str | None = None,
    participant: int | None = None,
) -> QuerySet[Visit]:
    """The visits awaiting the user's signature, those to sign again first, narrowed to a
    trial and a site (by code) or one participant (by id); a participant the user does not
    sign for gives none. Refused to a user who is no site's investigator."""
    if not holds_role(user, {Role.INVESTIGATOR}):
        raise PermissionDeniedError(_("Only the investigator signs."))
    visits = visits_awaiting_signature(user)
    if trial:
        visits = visits.filter(participant__trial__code=trial)
    if site:
        visits = visits.filter(participant__site__code=site)
    if participant is not None:
        visits = visits.filter(participant_id=participant)
    # The SDV plan of what is outstanding reads the protocol version, once per version.
    return visits.prefetch_related("participant__protocol_version")


def visits_to_sign_shown(visits: Sequence[Visit]) -> list[VisitToSign]:
    """Each visit with what it has outstanding and the visit signature a change voided, if
    any: the same number of queries whatever the number of visits."""
    voided: dict[int, Signature] = {}
    for signature in Signature.objects.filter(
        scope=SignatureScope.VISIT, visit__in=visits, voided_at__isnull=False
    ).order_by("voided_at"):
        assert signature.visit_id is not None
        voided[signature.visit_id] = signature
    outstanding = visits_outstanding(visits)
    return [VisitToSign(visit, outstanding[visit.pk], voided.get(visit.pk)) for visit in visits]


def visits_to_sign(user: Any) -> tuple[list[VisitToSign], bool]:
    """Completed visits without a valid visit signature at the sites where the user is the
    investigator, with what each has outstanding and the signature a change voided, if any;
    and whether there are more than shown."""
    visits = list(
        visits_awaiting_signature(user)
        .prefetch_related("participant__protocol_version")
        .order_by("actual_date", "participant__screening_number", "pk")[: SHOWN + 1]
    )
    return visits_to_sign_shown(visits[:SHOWN]), len(visits) > SHOWN


def visits_to_sign_get(user: Any, ids: list[int]) -> list[Visit]:
    """The chosen visits, each one awaiting the user's signature; any other is not found.
    Refused to a user who is no site's investigator: only the investigator signs."""
    if not holds_role(user, {Role.INVESTIGATOR}):
        raise PermissionDeniedError(_("Only the investigator signs."))
    found = {visit.pk: visit for visit in visits_awaiting_signature(user).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise NotFoundError("No such visit to sign.")
    return [found[pk] for pk in ids]


def marks_a_change_voids(record: Any) -> list[str]:
    """Sentences naming the signatures and the source data verification that saving a change
    to `record` would void, each with who made it and when, on the site's clock."""
    zone = record.participant.site.time_zone
    verifications, covering = review_marks_covering(record)
    found = []
    what = {
        SignatureScope.FORM: lambda s: _("the investigator's signature of this form"),
        SignatureScope.VISIT: lambda s: (
            _("the investigator's signature of visit %(visit)s") % {"visit": s.visit.code}
        ),
        SignatureScope.CASEBOOK: lambda s: _("the investigator's signature of the casebook"),
    }
    for signature in covering.select_related("visit").order_by("signed_at", "pk"):
        found.append(
            _("%(what)s (signed by %(who)s on %(when)s)")
            % {
                "what": what[SignatureScope(signature.scope)](signature),
                "who": signature.printed_name,
                "when": site_clock_text(signature.signed_at, zone),
            }
        )
    sdv = verifications.select_related("verified_by").first()
    if sdv is not None:
        found.append(
            _("the source data verification of this form (by %(who)s on %(when)s)")
            % {
                "who": sdv.verified_by.display_name(),
                "when": site_clock_text(sdv.verified_at, zone),
            }
        )
    return found
