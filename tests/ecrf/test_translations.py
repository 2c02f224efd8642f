"""Every text the application marks for translation has Spanish, and no edit check answers in
English only."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings
from django.utils.translation import trans_real

MARKERS = {"gettext", "gettext_lazy", "gettext_noop", "_", "pgettext", "pgettext_lazy"}


def _modules() -> list[tuple[Path, ast.AST]]:
    apps = [
        top
        for top in Path(settings.BASE_DIR).iterdir()
        if (top / "__init__.py").exists() and top.name not in {"tests", "bench"}
    ]
    paths = [path for top in apps for path in top.rglob("*.py") if "migrations" not in path.parts]
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in paths]


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(settings.BASE_DIR)}:{getattr(node, 'lineno', 0)}"


def _marked(modules: list[tuple[Path, ast.AST]]) -> dict[str, str]:
    """Each literal text given to a translation function (its msgid, with the msgctxt of a
    pgettext), and where it is."""
    found = {}
    for path, tree in modules:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or getattr(node.func, "id", None) not in MARKERS:
                continue
            args = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
            if len(args) == len(node.args) and args and all(isinstance(a, str) for a in args):
                key = "\x04".join(args) if node.func.id.startswith("pgettext") else args[0]
                found.setdefault(key, _where(path, node))
    return found


def _english_only(node: ast.expr) -> bool:
    """A message written in English in the code rather than through a translation."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _english_only(node.left) or _english_only(node.right)
    if isinstance(node, ast.IfExp):
        return _english_only(node.body) or _english_only(node.orelse)
    return False


def test_every_marked_text_has_spanish() -> None:
    """The Spanish catalogue holds every msgid (a name spelt alike in both languages, such as
    'SLEDAI-2K', is in it as itself)."""
    marked = _marked(_modules())
    assert len(marked) > 800
    catalogue = trans_real.translation("es")._catalog
    missing = sorted(f"{where} {text!r}" for text, where in marked.items() if text not in catalogue)
    assert missing == []


def test_edit_check_errors_are_translated() -> None:
    """`checks.error(field, message)` is shown at once to whoever saves, in their language: a
    message written as an English string or f-string in the code is refused here."""
    calls, english = 0, []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "error"
                and getattr(node.func.value, "id", None) == "checks"
            ):
                calls += 1
                if any(_english_only(arg) for arg in node.args[1:]):
                    english.append(_where(path, node))
    assert calls > 100
    assert english == []
