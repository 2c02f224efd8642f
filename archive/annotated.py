"""The blank annotated CRF: each form's fields with their names, choices and SDTM variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.pdf import iso, page_html, pdf_bytes
from assessments.forms_kit import FormType
from casebook.catalogue import form_types
from casebook.review_selectors import field_labels
from exports.datasets import DATASETS
from trials.models import ProtocolVersion, Trial


@dataclass(frozen=True)
class AnnotatedField:
    name: str
    label: str
    kind: str
    choices: list[tuple[str, str]]
    sdtm: list[str]  # "LB.LBORRES"; empty when the field is not submitted
    derived: bool


@dataclass(frozen=True)
class AnnotatedForm:
    ftype: FormType
    fields: list[AnnotatedField]


@dataclass(frozen=True)
class AnnotatedCrf:
    trial: Trial
    version: ProtocolVersion | None
    forms: list[AnnotatedForm]


def sdtm_targets() -> dict[str, list[str]]:
    """Each form field ("form_code.field") and the dataset variables taken from it, from the
    datasets' own declarations."""
    targets: dict[str, list[str]] = {}
    for dataset in DATASETS:
        for variable in dataset.variables:
            for source in variable.source:
                target = f"{dataset.name}.{variable.name}"
                if target not in targets.setdefault(source, []):
                    targets[source].append(target)
    return targets


def _field(ftype: FormType, name: str, label: str, targets: dict[str, list[str]]) -> Any:
    model_field = ftype.model._meta.get_field(name)
    choices = [(str(code), str(text)) for code, text in (model_field.flatchoices or ())]
    return AnnotatedField(
        name=name,
        label=label,
        kind=model_field.get_internal_type(),
        choices=[c for c in choices if c[0] != ""],
        sdtm=targets.get(f"{ftype.code}.{name}", []),
        derived=name in ftype.derived,
    )


def annotated_crf(trial: Trial) -> AnnotatedCrf:
    """The forms of `trial` as its latest protocol version collects them, blank, annotated."""
    targets = sdtm_targets()
    forms = []
    for ftype in form_types().values():
        labels = field_labels(ftype)
        names = [*ftype.fields, *ftype.derived]
        forms.append(
            AnnotatedForm(
                ftype=ftype,
                fields=[_field(ftype, name, labels.get(name, name), targets) for name in names],
            )
        )
    version = trial.protocol_versions.order_by("-number").first()
    return AnnotatedCrf(trial=trial, version=version, forms=forms)


def annotated_name(crf: AnnotatedCrf) -> str:
    number = crf.version.number if crf.version else 0
    return f"{crf.trial.code}-annotated-crf-v{number}.pdf"


def annotated_crf_pdf(crf: AnnotatedCrf, *, language: str) -> bytes:
    """The annotated CRF printed to PDF/A, dated at the protocol version's loading."""
    created = iso(crf.version.loaded_at) if crf.version else "2000-01-01T00:00:00+00:00"
    html = page_html(
        "archive/annotated_crf.html",
        {"crf": crf, "created": created},
        zone="UTC",
        language=language,
    )
    return pdf_bytes(html, identifier=f"annotated crf {crf.trial.code} {created}")
