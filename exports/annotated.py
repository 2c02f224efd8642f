"""The blank annotated CRF: each form's fields with their names, choices and SDTM variables.

The mapping is read from the datasets' own declarations (each variable's `source` fields), so
a new dataset is annotated as soon as it names its fields. The export bundle carries it as one
HTML page (`acrf.html`) that define.xml links; the archive prints the same page to PDF/A.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from assessments.forms_kit import FormType
from casebook.catalogue import form_types
from casebook.review_selectors import field_labels
from exports.base import ExportContext, WrittenFile
from exports.datasets import DATASETS, revealing_sources
from trials.models import ProtocolVersion, Trial

__all__ = [
    "ACRF_DATASET",
    "ACRF_NAME",
    "AnnotatedCrf",
    "AnnotatedField",
    "AnnotatedForm",
    "annotated_crf",
    "annotated_crf_html",
    "created_at",
    "form_anchor",
    "sdtm_targets",
    "write_annotated_crf",
]

TEMPLATE = "exports/annotated_crf.html"
# The file of the export bundle and the dataset the manifest lists it under.
ACRF_NAME = "acrf.html"
ACRF_DATASET = "ACRF"
PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "print.css"


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

    @property
    def anchor(self) -> str:
        return form_anchor(self.ftype.code)


@dataclass(frozen=True)
class AnnotatedCrf:
    trial: Trial
    version: ProtocolVersion | None
    forms: list[AnnotatedForm]


def form_anchor(form_code: str) -> str:
    """The named destination of a form in the annotated CRF (its HTML id)."""
    return f"form-{form_code}"


def sdtm_targets(shown: Collection[str] | None = None) -> dict[str, list[str]]:
    """Each form field ("form_code.field") and the dataset variables ("LB.LBORRES") taken from
    it, from the datasets' own declarations; only those in `shown` when it is given."""
    targets: dict[str, list[str]] = {}
    for dataset in DATASETS:
        for variable in dataset.variables:
            target = f"{dataset.name}.{variable.name}"
            if shown is not None and target not in shown:
                continue
            for source in variable.source:
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


def annotated_crf(
    trial: Trial,
    *,
    version: ProtocolVersion | None = None,
    shown: Collection[str] | None = None,
    hidden: Collection[str] = (),
) -> AnnotatedCrf:
    """The forms of `trial` as `version` (by default its latest) collects them, blank,
    annotated with the dataset variables in `shown` (by default all of them), without the
    fields ("form_code.field") in `hidden`."""
    targets = sdtm_targets(shown)
    forms = []
    for ftype in form_types().values():
        labels = field_labels(ftype)
        names = [
            name for name in (*ftype.fields, *ftype.derived) if f"{ftype.code}.{name}" not in hidden
        ]
        forms.append(
            AnnotatedForm(
                ftype=ftype,
                fields=[_field(ftype, name, labels.get(name, name), targets) for name in names],
            )
        )
    if version is None:
        version = trial.protocol_versions.order_by("-number").first()
    return AnnotatedCrf(trial=trial, version=version, forms=forms)


def created_at(crf: AnnotatedCrf) -> str:
    """When the CRF took this shape: the protocol version's loading, UTC to the second."""
    if crf.version is None:
        return "2000-01-01T00:00:00+00:00"
    moment = crf.version.loaded_at.astimezone(ZoneInfo("UTC"))
    return moment.replace(microsecond=0).isoformat()


def annotated_crf_html(crf: AnnotatedCrf, *, language: str = "en", css: str = "") -> str:
    """The annotated CRF as one page, dated at the protocol version's loading; `css` inlined
    for a file read away from the site. The style element is added here, not in the template,
    which the site also serves under a policy that refuses style elements."""
    with translation.override(language), timezone.override(ZoneInfo("UTC")):
        html: str = render_to_string(TEMPLATE, {"crf": crf, "created": created_at(crf)})
    if css:
        html = html.replace("</head>", f"<style>{css}</style>\n</head>", 1)
    return html


def write_annotated_crf(ctx: ExportContext, out_dir: Path, shown: Iterable[str]) -> WrittenFile:
    """Write `acrf.html` into the export's folder: the forms of the export's protocol version,
    annotated with the dataset variables (`"LB.LBORRES"`) the export holds, in English; a
    blinded export's leaves out the allocation-revealing fields, as its raw tables do."""
    hidden = revealing_sources(ctx) if ctx.blinded else frozenset()
    crf = annotated_crf(
        ctx.trial, version=ctx.protocol_version, shown=frozenset(shown), hidden=hidden
    )
    target = out_dir / ACRF_NAME
    html = annotated_crf_html(crf, css=PRINT_CSS.read_text(encoding="utf-8"))
    target.write_text(html, encoding="utf-8")
    return WrittenFile(path=target, dataset=ACRF_DATASET, rows=0)
