"""Every page carries a strict Content-Security-Policy; only the API docs (and a chart's SVG,
see tests/casebook/test_charts.py) widen it, for themselves; no template holds what the
policy would refuse."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings


def policy(response) -> dict[str, set[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: set(values)
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_pages_carry_the_strict_policy(client, personas) -> None:
    client.force_login(personas.coordinator_a)
    for url in ("/accounts/login/", "/", "/trials/participants/", "/api/v1/trials/"):
        directives = policy(client.get(url))
        assert directives["default-src"] == {"'self'"}, url
        assert directives["script-src"] == {"'self'"}, url
        assert directives["style-src"] == {"'self'"}, url
        assert directives["object-src"] == {"'none'"}, url
        assert directives["frame-ancestors"] == {"'none'"}, url
        assert directives["form-action"] == {"'self'"}, url
        assert directives["base-uri"] == {"'self'"}, url
    client.logout()
    assert policy(client.get("/accounts/login/"))["script-src"] == {"'self'"}


def test_only_the_api_docs_allow_inline_styles_and_data_images(client, personas) -> None:
    client.force_login(personas.coordinator_a)
    docs = policy(client.get("/api/docs/"))
    assert docs["style-src"] == {"'self'", "'unsafe-inline'"}
    assert docs["img-src"] == {"'self'", "data:"}
    assert docs["script-src"] == {"'self'"}
    assert docs["frame-ancestors"] == {"'none'"}
    assert policy(client.get("/api/schema/"))["style-src"] == {"'self'"}


# What the policy refuses: inline script elements, event handler attributes, style
# attributes and elements, javascript: links, and htmx attributes that run code.
REFUSED = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline script"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "style element"),
    (re.compile(r"javascript:", re.I), "javascript: link"),
    (re.compile(r"hx-on|hx-vals=['\"]js:|hx-trigger=['\"][^'\"]*\[", re.I), "htmx code"),
]


def test_no_template_holds_what_the_policy_refuses() -> None:
    templates = sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))
    assert len(templates) > 20
    found = [
        f"{path.name}: {what}"
        for path in templates
        for pattern, what in REFUSED
        if pattern.search(path.read_text())
    ]
    assert found == []
