"""Cross-field checks that JSON Schema cannot express, each tied to a key path and line."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from typing import Any

from .errors import ProtocolIssue
from .loader import line_for
from .model import (
    CODE_PARAMETERS,
    FORM_CODES,
    FORM_LIST,
    MASKING_LEVELS,
    PRE_TREATMENT_KINDS,
    RESPONDER_CATEGORIES,
    RESPONSE_PARAMETER_VALUES,
    RESPONSE_PARAMETERS,
    RULE_SETS,
    SOURCE_FIELDS,
    WHOLE,
)


def _whole_months(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class _Checker:
    """Collects problems of one schema-valid document; each check adds to ``issues``."""

    def __init__(self, data: dict[str, Any], lines: dict[str, int]) -> None:
        self.data = data
        self.lines = lines
        self.issues: list[ProtocolIssue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(ProtocolIssue(path, line_for(self.lines, path), message))

    def unique(self, items: Iterable[tuple[str, str]], what: str) -> None:
        """Report each repeated value at its own path, naming the first path."""
        seen: dict[str, str] = {}
        for path, value in items:
            if value in seen:
                self.add(path, f"duplicate {what} {value!r} (already used at '{seen[value]}')")
            else:
                seen[value] = path

    def run(self) -> list[ProtocolIssue]:
        self.check_codes()
        self.check_masking()
        self.check_stages()
        self.check_randomization()
        self.check_sites()
        self.check_visits()
        self.check_response()
        self.check_forms()
        self.check_eligibility()
        self.check_dosing()
        self.check_enrollment()
        self.check_parameters()
        self.check_translations()
        return self.issues

    def check_translations(self) -> None:
        """A translation names only codes the file defines, so a typo is never ignored."""
        d = self.data
        criteria = [
            c for kind in ("inclusion", "exclusion") for c in d["eligibility"].get(kind, [])
        ]
        known = {
            "arms": {a["code"] for a in d["arms"]},
            "stages": {s["code"] for s in d["stages"]},
            "visits": {v["code"] for v in d["visits"]},
            "criteria": {c["code"] for c in criteria},
            "groups": {c["group"] for c in criteria if c.get("group")},
        }
        for language, texts in d.get("translations", {}).items():
            for kind, codes in known.items():
                for code in texts.get(kind, {}):
                    if code not in codes:
                        self.add(
                            f"translations.{language}.{kind}.{code}",
                            f"translates {code!r}, which is not one of the file's {kind} "
                            f"({', '.join(sorted(codes))})",
                        )

    def check_codes(self) -> None:
        d = self.data
        self.unique(((f"arms[{i}].code", a["code"]) for i, a in enumerate(d["arms"])), "arm code")
        self.unique(
            ((f"stages[{i}].code", s["code"]) for i, s in enumerate(d["stages"])), "stage code"
        )
        # Cohort codes label enrolment across the whole trial, so they are unique trial-wide.
        self.unique(
            (
                (f"stages[{i}].cohorts[{j}].code", c["code"])
                for i, s in enumerate(d["stages"])
                for j, c in enumerate(s.get("cohorts", []))
            ),
            "cohort code",
        )
        self.unique(
            ((f"sites[{i}].code", s["code"]) for i, s in enumerate(d["sites"])), "site code"
        )
        self.unique(
            ((f"visits[{i}].code", v["code"]) for i, v in enumerate(d["visits"])), "visit code"
        )
        self.unique(
            (
                (f"stratification_factors[{i}].code", f["code"])
                for i, f in enumerate(d.get("stratification_factors", []))
            ),
            "stratification factor code",
        )

    def check_masking(self) -> None:
        d = self.data
        expected = MASKING_LEVELS.index(d["masking"])
        count = len(d["masked_parties"])
        if count != expected:
            self.add(
                "masked_parties",
                f"masking {d['masking']!r} means {expected} masked parties, {count} listed",
            )
        blinded = [i for i, s in enumerate(d["stages"]) if s["blinded"]]
        if d["masking"] == "none":
            for i in blinded:
                self.add(f"stages[{i}].blinded", "a blinded stage needs masking other than 'none'")
        elif not blinded:
            self.add("masking", f"masking is {d['masking']!r} but no stage is blinded")
        if blinded and not d["blinding"]["allocation_revealing"]:
            self.add(
                "blinding.allocation_revealing",
                "a blinded trial must list the allocation-revealing fields",
            )

    def check_stages(self) -> None:
        arms = {a["code"]: a for a in self.data["arms"]}
        used: set[str] = set()
        for i, stage in enumerate(self.data["stages"]):
            path = f"stages[{i}]"
            for j, code in enumerate(stage["arms"]):
                used.add(code)
                if code not in arms:
                    self.add(f"{path}.arms[{j}]", f"unknown arm {code!r}")
            cohorts = stage.get("cohorts", [])
            if stage["kind"] == "dose_escalation":
                if not cohorts:
                    self.add(f"{path}.cohorts", "a dose_escalation stage needs at least one cohort")
                if stage["blinded"]:
                    self.add(f"{path}.blinded", "a dose_escalation stage is open-label")
                for j, code in enumerate(stage["arms"]):
                    if code in arms and arms[code]["type"] != "experimental":
                        self.add(f"{path}.arms[{j}]", "dose escalation uses experimental arms only")
            else:
                if "dlt" in stage:
                    self.add(f"{path}.dlt", "only a dose_escalation stage defines a DLT")
                if cohorts:
                    self.add(f"{path}.cohorts", "a randomized stage has no cohorts")
                if len(stage["arms"]) < 2:
                    self.add(f"{path}.arms", "a randomized stage needs at least two arms")
        for i, arm in enumerate(self.data["arms"]):
            if arm["code"] not in used:
                self.add(f"arms[{i}].code", f"arm {arm['code']!r} is not used by any stage")

    def check_randomization(self) -> None:
        d = self.data
        randomized = [s for s in d["stages"] if s["kind"] == "randomized"]
        rand = d.get("randomization")
        if rand is None:
            if randomized:
                self.add("", "a randomized stage needs a 'randomization' section")
            return
        if not randomized:
            self.add("randomization", "no stage is randomized")
            return
        ratios = {a["code"]: a["ratio"] for a in d["arms"]}
        for stage in randomized:
            total = sum(ratios.get(code, 0) for code in stage["arms"])
            for k, size in enumerate(rand["block_sizes"]):
                if total and size % total:
                    self.add(
                        f"randomization.block_sizes[{k}]",
                        f"block size {size} is not a multiple of the arm ratio sum {total} "
                        f"of stage {stage['code']!r}",
                    )
        factors = {f["code"]: f for f in d.get("stratification_factors", [])}
        for k, code in enumerate(rand["strata"]):
            if code not in factors:
                self.add(f"randomization.strata[{k}]", f"unknown stratification factor {code!r}")
        sites = {s["code"] for s in d["sites"]}
        for i, factor in enumerate(d.get("stratification_factors", [])):
            path = f"stratification_factors[{i}]"
            if factor["source"] == "site":
                if "field" in factor:
                    self.add(f"{path}.field", "a site factor takes its level from the site")
                for j, level in enumerate(factor["levels"]):
                    if level not in sites:
                        self.add(f"{path}.levels[{j}]", f"{level!r} is not a site code")
                missing = sorted(sites - set(factor["levels"]))
                if missing:
                    self.add(f"{path}.levels", f"site codes missing from levels: {missing}")
            elif "field" not in factor:
                self.add(path, "a field factor must name its 'field' (form.field)")

    def check_sites(self) -> None:
        for i, site in enumerate(self.data["sites"]):
            name = site["time_zone"]
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self.add(f"sites[{i}].time_zone", f"unknown IANA time zone {name!r}")

    def check_visits(self) -> None:
        visits = self.data["visits"]
        # Only visits anchored on Day 0 are checked for overlap: screening and randomization
        # happen before Day 0 is known and may legitimately overlap each other and Day 0.
        last_scheduled: dict[str, Any] | None = None
        for i, visit in enumerate(visits):
            path = f"visits[{i}]"
            latest = visit["day"] + visit["window_after"]
            in_order = not i or visit["day"] >= visits[i - 1]["day"]
            if not in_order:
                self.add(
                    f"{path}.day",
                    f"visits must be in day order: day {visit['day']} is listed after visit "
                    f"{visits[i - 1]['code']!r} on day {visits[i - 1]['day']}",
                )
            if visit["kind"] in PRE_TREATMENT_KINDS:
                if last_scheduled is not None:
                    self.add(f"{path}.kind", f"a {visit['kind']} visit cannot follow Day 0 visits")
                if visit["kind"] == "screening" and visit["day"] >= 0:
                    self.add(f"{path}.day", "a screening visit must have a negative day")
                elif visit["kind"] == "screening" and latest >= 0:
                    self.add(f"{path}.window_after", "the screening window must end before Day 0")
                elif visit["kind"] == "randomization" and latest > 0:
                    self.add(f"{path}.window_after", "randomization must be done by Day 0")
            else:
                if visit["day"] < 0:
                    self.add(f"{path}.day", f"a {visit['kind']} visit cannot be before Day 0")
                if in_order:  # an out-of-order visit would only add a confusing overlap
                    self.check_overlap(i, visit, last_scheduled)
                last_scheduled = visit
            if visit.get("dosing", False) != (visit["kind"] == "dosing"):
                self.add(f"{path}.dosing", "dosing must be true exactly for visits of kind dosing")
        first = next((i for i, v in enumerate(visits) if v.get("dosing", False)), None)
        if first is None:
            self.add("visits", "no dosing visit (a visit with kind dosing and dosing: true)")
            return
        path = f"visits[{first}]"
        if visits[first]["day"] != 0:
            self.add(f"{path}.day", "the first dosing visit defines Day 0 and must have day 0")
        for key in ("window_before", "window_after"):
            if visits[first][key]:
                self.add(f"{path}.{key}", "the Day 0 dosing visit has no window")

    def check_overlap(self, i: int, visit: dict[str, Any], prev: dict[str, Any] | None) -> None:
        # Overlapping windows would make the visit a given date belongs to ambiguous.
        if prev is None:
            return
        prev_end = prev["day"] + prev["window_after"]
        start = visit["day"] - visit["window_before"]
        if start <= prev_end:
            self.add(
                f"visits[{i}].window_before",
                f"window (days {start}..{visit['day'] + visit['window_after']}) overlaps the "
                f"window of visit {prev['code']!r} (days "
                f"{prev['day'] - prev['window_before']}..{prev_end})",
            )

    def check_response(self) -> None:
        response = self.data["response"]
        if response["rule_set"] not in RULE_SETS:
            self.add(
                "response.rule_set",
                f"unknown rule set {response['rule_set']!r}; known: {', '.join(RULE_SETS)}",
            )
        for k, code in enumerate(response.get("secondary_rule_sets", [])):
            path = f"response.secondary_rule_sets[{k}]"
            if code not in RULE_SETS:
                self.add(path, f"unknown rule set {code!r}; known: {', '.join(RULE_SETS)}")
            elif code == response["rule_set"]:
                self.add(path, f"{code!r} is already the primary rule set")
        self.check_response_params(response)
        visits = self.data["visits"]
        target = response["primary_visit"]
        flagged = [i for i, v in enumerate(visits) if v.get("primary_endpoint")]
        if len(flagged) > 1:
            # Blame the extra flags, keeping the one response.primary_visit points to.
            keep = next((i for i in flagged if visits[i]["code"] == target), flagged[0])
            for i in flagged:
                if i != keep:
                    self.add(
                        f"visits[{i}].primary_endpoint",
                        f"only one visit can be the primary endpoint (response.primary_visit "
                        f"is {target!r})",
                    )
        codes = {v["code"]: i for i, v in enumerate(visits)}
        if target not in codes:
            self.add("response.primary_visit", f"unknown visit {target!r}")
            return
        index = codes[target]
        if index not in flagged:
            self.add(
                "response.primary_visit",
                f"visit {target!r} is not marked primary_endpoint: true",
            )
        if visits[index].get("optional"):
            self.add(f"visits[{index}].optional", "the primary endpoint visit cannot be optional")

    def check_response_params(self, response: dict[str, Any]) -> None:
        code = response["rule_set"]
        if code not in RESPONSE_PARAMETERS:
            return
        accepted = RESPONSE_PARAMETERS[code]
        for name, value in response.get("params", {}).items():
            path = f"response.params.{name}"
            if name not in accepted:
                self.add(
                    path,
                    f"parameter {name!r} is not read by rule set {code!r}; accepted: "
                    f"{', '.join(sorted(accepted))}",
                )
            elif name in RESPONSE_PARAMETER_VALUES:
                problem = _value_problem(value, RESPONSE_PARAMETER_VALUES[name])
                if problem:
                    self.add(path, f"parameter {name!r} {problem}")
            elif name == "responder_categories":
                expected = RESPONDER_CATEGORIES[code]
                if (
                    not isinstance(value, list)
                    or set(value) != expected
                    or (len(value) != len(expected))
                ):
                    self.add(
                        path,
                        f"rule set {code!r} counts {', '.join(sorted(expected))} as responders",
                    )

    def check_forms(self) -> None:
        d = self.data
        catalogue = set(d["forms"])
        for k, code in enumerate(d["forms"]):
            if code not in FORM_CODES:
                self.add(f"forms[{k}]", _unknown_form(code))
        for i, visit in enumerate(d["visits"]):
            for k, code in enumerate(visit["forms"]):
                self.form_ref(f"visits[{i}].forms[{k}]", code, catalogue)
        for code in d["blinding"]["allocation_revealing"]:
            self.form_ref(f"blinding.allocation_revealing.{code}", code, catalogue)
        self.check_sdv_plan(catalogue)

    def check_sdv_plan(self, catalogue: set[str]) -> None:
        plan = self.data.get("sdv_plan")
        if plan is None:
            return
        if "sdv_forms" in self.data.get("parameters", {}):
            self.add("parameters.sdv_forms", "give either sdv_plan or the sdv_forms parameter")
        for code, entry in plan.items():
            path = f"sdv_plan.{code}"
            self.form_ref(path, code, catalogue)
            if entry["level"] == "sampled" and "percent" not in entry:
                self.add(f"{path}.level", "a sampled level needs a percent (1 to 99)")
            if entry["level"] != "sampled" and "percent" in entry:
                self.add(f"{path}.percent", "a percent is given only with level sampled")
            self.unique(
                (
                    (f"{path}.critical[{k}]", name)
                    for k, name in enumerate(entry.get("critical", []))
                ),
                "critical field",
            )

    def form_ref(self, path: str, code: str, catalogue: set[str]) -> None:
        if code not in FORM_CODES:
            self.add(path, _unknown_form(code))
        elif code not in catalogue:
            self.add(path, f"form {code!r} is not in this trial's forms catalogue")

    def check_eligibility(self) -> None:
        eligibility = self.data["eligibility"]
        for key, prefix in (("inclusion", "IN"), ("exclusion", "EX")):
            for k, criterion in enumerate(eligibility[key]):
                path = f"eligibility.{key}[{k}]"
                if criterion["number"] != k + 1:
                    self.add(
                        f"{path}.number",
                        f"criteria are numbered 1, 2, 3... in order: expected {k + 1}, "
                        f"got {criterion['number']}",
                    )
                expected = f"{prefix}{criterion['number']:02d}"
                if criterion["code"] != expected:
                    self.add(
                        f"{path}.code",
                        f"expected code {expected!r} for criterion {criterion['number']}",
                    )
                for n, source in enumerate(criterion.get("sources", ())):
                    self.check_source(f"{path}.sources[{n}]", source)
                for n, lookback in enumerate(criterion.get("lookbacks", ())):
                    self.check_lookback(f"{path}.lookbacks[{n}]", lookback)
        low, high = eligibility.get("min_age_years"), eligibility.get("max_age_years")
        if low is not None and high is not None and low > high:
            self.add("eligibility.max_age_years", "max_age_years is below min_age_years")

    def check_source(self, path: str, source: dict[str, Any]) -> None:
        """A criterion's source names a form of the catalogue, a field the check can read, a
        visit that collects the form, and exactly one limit fit for its comparison."""
        d = self.data
        form, name = source["form"], source["field"]
        self.form_ref(f"{path}.form", form, set(d["forms"]))
        if form in SOURCE_FIELDS and name not in SOURCE_FIELDS[form]:
            self.add(
                f"{path}.field",
                f"form {form!r} has no field {name!r} to check against; known: "
                f"{', '.join(SOURCE_FIELDS[form])}",
            )
        elif form in FORM_CODES and form not in SOURCE_FIELDS:
            self.add(f"{path}.form", f"no field of form {form!r} can be checked against")
        visits = {v["code"]: v for v in d["visits"]}
        visit = visits.get(source["visit"])
        if visit is None:
            self.add(f"{path}.visit", f"unknown visit code {source['visit']!r}")
        elif form not in visit["forms"]:
            self.add(f"{path}.visit", f"visit {source['visit']!r} does not collect form {form!r}")
        has_value, parameter = "value" in source, source.get("parameter")
        if has_value == (parameter is not None):
            self.add(path, "give either value or parameter, not both or neither")
            return
        if parameter is not None and parameter not in d.get("parameters", {}):
            self.add(f"{path}.parameter", f"unknown parameter {parameter!r}")
            return
        limit = source["value"] if has_value else d["parameters"][parameter]["value"]
        if (source["op"] == "in") != isinstance(limit, list):
            self.add(
                f"{path}.op",
                "`in` takes a list of values; the other comparisons take one value",
            )

    def check_lookback(self, path: str, lookback: dict[str, Any]) -> None:
        """A look-back names what counts (drugs or categories), one window length in whole
        months, and a trial that says which day it counts back from."""
        if not lookback.get("drugs") and not lookback.get("categories"):
            self.add(path, "name the drugs or the categories that count")
        parameters = self.data.get("parameters", {})
        has_months, parameter = "months" in lookback, lookback.get("parameter")
        if has_months == (parameter is not None):
            self.add(path, "give either months or parameter, not both or neither")
        elif parameter is not None:
            if parameter not in parameters:
                self.add(f"{path}.parameter", f"unknown parameter {parameter!r}")
            elif not _whole_months(parameters[parameter]["value"]):
                self.add(
                    f"parameters.{parameter}.value",
                    "a look-back is a whole number of months, at least 1",
                )
        if "exclusion_lookback_anchor" not in parameters:
            self.add(
                path,
                "a look-back needs parameters.exclusion_lookback_anchor (selection or "
                "randomization)",
            )

    def check_parameters(self) -> None:
        """Every parameter is read: by a criterion's source or look-back, or by the code that
        CODE_PARAMETERS lists, with a value that code accepts."""
        d = self.data
        named = {
            item["parameter"]
            for kind in ("inclusion", "exclusion")
            for criterion in d["eligibility"][kind]
            for item in (*criterion.get("sources", ()), *criterion.get("lookbacks", ()))
            if "parameter" in item
        }
        for name, parameter in d.get("parameters", {}).items():
            path = f"parameters.{name}"
            if name in CODE_PARAMETERS:
                self.check_code_parameter(path, name, parameter["value"])
            elif name not in named:
                self.add(
                    path,
                    f"no eligibility check or calculation reads parameter {name!r}; name it "
                    "in a criterion's sources or lookbacks, or remove it",
                )

    def check_code_parameter(self, path: str, name: str, value: Any) -> None:
        purpose, accepted = CODE_PARAMETERS[name]
        if accepted == WHOLE:
            if not _whole_months(value):
                self.add(f"{path}.value", f"{purpose} is a whole number, at least 1")
        elif accepted == FORM_LIST:
            forms = set(self.data["forms"])
            codes = str(value).replace(" ", "").split(",")
            every = str(value).strip().lower() in ("", "all")
            unknown = [] if every else [c for c in codes if c not in forms]
            if unknown:
                self.add(
                    f"{path}.value",
                    f"{purpose} names forms the trial does not collect: {', '.join(unknown)}",
                )
        elif value not in accepted:
            known = ", ".join(str(v) for v in accepted)
            self.add(f"{path}.value", f"{purpose} is one of {known}, not {value!r}")

    def check_dosing(self) -> None:
        dosing = self.data["dosing"]
        hard = dosing["weight_hard_limits_kg"]
        soft = dosing["weight_soft_limits_kg"]
        if not 0 < hard[0] < hard[1]:
            self.add("dosing.weight_hard_limits_kg", "limits must be [min, max] with 0 < min < max")
        if not hard[0] <= soft[0] < soft[1] <= hard[1]:
            self.add("dosing.weight_soft_limits_kg", "soft limits must lie within the hard limits")
        pattern = dosing.get("donor_code_pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                self.add("dosing.donor_code_pattern", f"not a regular expression: {error}")
        escalation = any(s["kind"] == "dose_escalation" for s in self.data["stages"])
        if dosing["cells_per_kg"] is None and not escalation:
            self.add(
                "dosing.cells_per_kg", "a dose is required when no dose-escalation stage selects it"
            )

    def check_enrollment(self) -> None:
        d = self.data
        stages = d["stages"]
        for i, stage in enumerate(stages):
            cohorts = stage.get("cohorts", [])
            if cohorts and "planned_n" in stage:
                total = sum(c["planned_n"] for c in cohorts)
                if total != stage["planned_n"]:
                    self.add(
                        f"stages[{i}].planned_n",
                        f"cohort sizes add up to {total}, not {stage['planned_n']}",
                    )
        if all("planned_n" in s for s in stages):
            total = sum(s["planned_n"] for s in stages)
            if total != d["planned_enrollment"]:
                self.add(
                    "planned_enrollment",
                    f"stage sizes add up to {total}, not {d['planned_enrollment']}",
                )


def _value_problem(value: Any, expected: str | tuple[str, ...]) -> str | None:
    """Why ``value`` is not what a response parameter takes, or None."""
    if isinstance(expected, tuple):
        if value not in expected:
            return f"must be one of {', '.join(expected)}, got {value!r}"
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "flag" and not isinstance(value, bool):
        return f"must be true or false, got {value!r}"
    if expected == "number" and not is_number:
        return f"must be a number, got {value!r}"
    if expected == "whole" and not (is_number and float(value).is_integer()):
        return f"must be a whole number, got {value!r}"
    return None


def _unknown_form(code: str) -> str:
    return f"unknown form code {code!r}; known: {', '.join(FORM_CODES)}"


def semantic_issues(data: dict[str, Any], lines: dict[str, int]) -> list[ProtocolIssue]:
    """Return every cross-field problem of schema-valid ``data``, in file order."""
    issues = _Checker(data, lines).run()
    return sorted(issues, key=lambda issue: (issue.line or 0, issue.path))
