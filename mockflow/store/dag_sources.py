"""What a DAG file's source says that its serialised form does not: the order its tasks are
created in (the order Airflow stores their task instances) and the lengths of mapped tasks
expanded over literals.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator, Sequence

from mockflow.store.records import Dag, Task


def declaration_order(dag: Dag) -> list[Task]:
    """Tasks in the order the DAG file creates them (the order Airflow creates TIs in). Fixture
    task lists may be sorted by id, so the source decides when it names the task."""
    tasks = list(dag.tasks.values())
    if not dag.source:
        return tasks
    positions = _positions(dag.source, tuple(task.task_id for task in tasks))
    return sorted(tasks, key=lambda task: positions[task.task_id])


@functools.lru_cache(maxsize=256)
def _positions(source: str, task_ids: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """(statement offset, order inside it) per task: operator calls and calls of `@task`
    functions in evaluation order; ids not found that way by where the source names them."""
    found = _by_creation(source, task_ids)
    unknown = len(source) + 1
    for task_id in task_ids:
        if task_id in found:
            continue
        *groups, last = task_id.split(".")
        start = 0
        for group in groups:  # a task group's tasks are declared after the group's name
            opened = re.compile(rf"[\"']{re.escape(group)}[\"']").search(source, start)
            if opened is None:  # a @task_group function: its tasks appear where it is called
                base = re.escape(re.sub(r"__\d+$", "", group))
                opened = re.compile(rf"(?<!def )\b{base}\s*(\(|\.expand|\.partial|\.override)").search(source, start)
            start = opened.start() if opened else start
        name = re.escape(last)
        patterns = (rf"task_id\s*=\s*[fr]?[\"']{name}[\"']", rf"\bdef\s+{name}\s*\(", rf"[\"']{name}[\"']",
                    rf"task_id\s*=\s*[fr]?[\"']{re.escape(_stem(last))}")
        match = next((m for m in (re.compile(p).search(source, start) for p in patterns) if m), None)
        if match is None and groups and start:  # a @task function called inside a group function
            found[task_id] = (start, 0)
            continue
        found[task_id] = (match.start(), 0) if match else (unknown, 0)
    return found


def _by_creation(source: str, task_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    offsets = _line_offsets(source)
    plain = {task_id for task_id in task_ids if "." not in task_id}
    calls: dict[str, int] = {}
    found: dict[str, tuple[int, int]] = {}
    for index, (statement, event, text) in enumerate(_creation_events(tree)):
        key = (offsets[statement.lineno - 1] + statement.col_offset, index)
        if event == "call":  # the n-th call of a @task function creates `name__n`
            count = calls.get(text, 0)
            calls[text] = count + 1
            text = text if count == 0 else f"{text}__{count}"
        matches = [t for t in plain if t == text] if event != "stem" else [t for t in plain if t.startswith(text)]
        for task_id in matches:
            found.setdefault(task_id, key)
    return found


def _line_offsets(source: str) -> list[int]:
    offsets, total = [], 0
    for line in source.splitlines(keepends=True):
        offsets.append(total)
        total += len(line)
    return offsets or [0]


def _creation_events(tree: ast.AST) -> Iterator[tuple[ast.stmt, str, str]]:
    """Calls that may create a task, in the order Python evaluates them (arguments first)."""
    def visit(node: ast.AST, statement: ast.stmt | None) -> Iterator[tuple[ast.stmt, str, str]]:
        if isinstance(node, ast.stmt):
            statement = node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # Decorators do not create tasks, calls do; a task group's body runs where it is called.
            children: list[ast.AST] = [] if _is_task_group(node) else list(node.body)
        else:
            children = list(ast.iter_child_nodes(node))
        for child in children:
            yield from visit(child, statement)
        if isinstance(node, ast.Call) and statement is not None:
            event = _creation_event(node)
            if event is not None:
                yield (statement, *event)

    yield from visit(tree, None)


def _is_task_group(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any("task_group" in ast.unparse(decorator) for decorator in function.decorator_list)


def _creation_event(call: ast.Call) -> tuple[str, str] | None:
    for keyword in call.keywords:
        if keyword.arg == "task_id":
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return "id", value.value
            if isinstance(value, ast.JoinedStr) and value.values and isinstance(value.values[0], ast.Constant):
                return "stem", str(value.values[0].value)
            if isinstance(value, ast.BinOp) and isinstance(value.left, ast.Constant):
                return "stem", str(value.left.value)
            return None
    func = call.func
    while isinstance(func, ast.Attribute) and func.attr in ("expand", "expand_kwargs", "partial", "override"):
        func = func.value.func if isinstance(func.value, ast.Call) else func.value
    if isinstance(func, ast.Name) and (call.func is func or isinstance(call.func, ast.Attribute)):
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("partial", "override"):
            return None  # the task is created by the expand (or the call) that follows
        return "call", func.id
    return None


def _stem(name: str) -> str:
    """`runme_0` -> `runme_`: ids built in a loop appear in the source only as their prefix."""
    return name.rstrip("0123456789") or name


@functools.lru_cache(maxsize=256)
def map_lengths(source: str) -> dict[str, int]:
    """Expansion lengths of `<task>.expand(x=[...])` / `.expand_kwargs([...])` over literals."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    lengths: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "expand", "expand_kwargs"):
            task_id = _task_id_of(node.func.value)
            length = _literal_length(node)
            if task_id is not None and length is not None:
                lengths[task_id] = length
    return lengths


def _task_id_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        for keyword in node.keywords:
            if keyword.arg == "task_id" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
        return _task_id_of(node.func.value)
    return None


def _literal_length(call: ast.Call) -> int | None:
    assert isinstance(call.func, ast.Attribute)
    if call.func.attr == "expand_kwargs":
        arg = call.args[0] if call.args else None
        return len(arg.elts) if isinstance(arg, (ast.List, ast.Tuple)) else None
    total = 1
    for keyword in call.keywords:
        value = keyword.value
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            total *= len(value.elts)
        elif isinstance(value, ast.Dict):
            total *= len(value.keys)
        else:
            return None
    return total if call.keywords else None
