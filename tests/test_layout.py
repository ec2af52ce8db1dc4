"""The structure stays true: imports point one way (adapters ← jobs ← bot), no cycles, no late imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"adapters": 0, "jobs": 1, "bot": 2}
# Imports inside a function save real start-up time in the CLI only (each says so where it is).
LATE_IMPORTS_ALLOWED = {"bot.cli", "bot.cli_audio"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}


def imported(node: ast.AST, modules: dict[str, Path]) -> list[str]:
    """The project modules an import statement names (`from jobs.domain import votes` names jobs.domain.votes)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                 for alias in node.names]
    return [name for name in names if name.split(".")[0] in LAYERS]


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Module → project modules it imports at module level; and (module, import, line) for imports inside code."""
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    late: list[tuple[str, str, int]] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            for target in imported(node, modules):
                if id(node) in top_level:
                    graph[name].add(target)
                else:
                    late.append((name, target, getattr(node, "lineno", 0)))
    return graph, late


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return stack[stack.index(child):] + [child]
            if child in graph and not state.get(child):
                found = visit(child)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if not state.get(start):
            found = visit(start)
            if found:
                return found
    return None


def test_imports_point_one_way() -> None:
    graph, late = import_graph()
    upward = [f"{module} imports {target}" for module, targets in graph.items() for target in sorted(targets)
              if LAYERS[target.split(".")[0]] > LAYERS[module.split(".")[0]]]
    upward += [f"{module} imports {target} (line {line})" for module, target, line in late
               if LAYERS[target.split(".")[0]] > LAYERS[module.split(".")[0]]]
    assert not upward, "imports must point adapters ← jobs ← bot:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    graph, _ = import_graph()
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_no_imports_inside_functions_outside_the_cli() -> None:
    _, late = import_graph()
    offenders = [f"{module}:{line} imports {target}" for module, target, line in late
                 if module not in LATE_IMPORTS_ALLOWED]
    assert not offenders, "\n".join(offenders)


def test_the_checks_catch_what_they_guard_against() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    tree = ast.parse("from jobs.domain import votes\nimport bot.app\nfrom adapters.base import Provider\n")
    modules = {"jobs.domain.votes": Path(), "adapters.base": Path()}
    assert [imported(node, modules) for node in tree.body] == [["jobs.domain.votes"], ["bot.app"], ["adapters.base"]]


@pytest.mark.parametrize("layer", ["adapters", "jobs", "bot"])
def test_a_reader_can_find_things_from_the_tree(layer: str) -> None:
    """Where votes are counted, loudness measured and a take posted, named by the folder tree."""
    expected = {
        "adapters": ["base.py", "previz.py", "download.py", "media.py"],
        "jobs": ["domain/votes.py", "audio/measure.py", "pipeline/takes.py", "pipeline/tasks.py", "domain/store.py"],
        "bot": ["slack/notifier.py", "listeners/events", "listeners/actions", "listeners/views", "blocks"],
    }[layer]
    missing = [entry for entry in expected if not (ROOT / layer / entry).exists()]
    assert not missing


SLACK_MARKS = [re.compile(pattern) for pattern in (
    r"<@\{", r"<@U", r'"type": "(?:actions|button|section|context)"', r"\bslack_(?:sdk|bolt)\b",
    r'"(?:not_in_channel|channel_not_found|invalid_auth|msg_too_long)"')]


def test_jobs_and_adapters_speak_no_slack() -> None:
    """No Block Kit, no user-mention markup, no Slack error codes below `bot/`: the domain says facts."""
    found = [f"{path.relative_to(ROOT)}: {mark.pattern}"
             for layer in ("jobs", "adapters") for path in sorted((ROOT / layer).rglob("*.py"))
             for mark in SLACK_MARKS if mark.search(path.read_text())]
    assert not found, found


def test_the_audio_code_loads_without_redis_or_slack() -> None:
    probe = ("import sys, jobs.audio.check, jobs.audio.measure, jobs.audio.master, jobs.audio.waveform, "
             "jobs.turnover.package; print(sorted(m for m in ('redis', 'rq', 'slack_sdk', 'slack_bolt') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_listeners_call_flows_and_never_each_other() -> None:
    """Each file under bot/listeners/ is the handler it registers; what handlers share lives in bot/flows/."""
    crossing = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        relative = path.relative_to(ROOT)
        in_listeners = relative.parts[:2] == ("bot", "listeners") and path.name != "__init__.py"
        in_flows = relative.parts[:2] == ("bot", "flows")
        if not (in_listeners or in_flows):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.listeners"):
                crossing.append(f"{relative} imports {node.module}")
    assert not crossing, crossing


def test_listeners_register_for_ids_from_the_one_enum() -> None:
    """`app.action("…")` with a literal drifts from the builder that sets the id: both use `bot.ids.SlackId`."""
    literal = []
    for path in sorted((ROOT / "bot" / "listeners").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("action", "view", "shortcut") and node.args
                    and isinstance(node.args[0], ast.Constant)):
                literal.append(f"{path.relative_to(ROOT)}: {node.func.attr}({node.args[0].value!r})")
    assert not literal, literal
