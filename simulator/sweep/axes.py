"""Sweep axes: what a point may vary and how each value is checked before anything runs.

An axis is either an `EvaluateRequest` field (`target`, `workload`, `seq`, `cascade`, `mapping`, `search`, ... —
derived from the dataclass, so a field another part of the tool adds is an axis at once) or a target field by
dotted path, `target.PATH` (the paths of `--set`, e.g. `target.arrays.pe2d.rows`). Values of request fields are
checked strictly against the field's type (`seq: 1024.7`, `causal: 'false'`, `batch: true` are errors); target
paths are checked by loading each target with the override, exactly as `--set` would.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import operator
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import ConfigDict, TypeAdapter, ValidationError

from cascade_base.catalog import YAML_SUFFIXES
from cascade_base.errors import InputError, shown
from hw.overrides import parse_value
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest

TARGET_PREFIX = "target."
#: request fields a sweep does not set directly (`overrides` is what `target.PATH` axes become)
NOT_AXES = frozenset({"overrides"})


def request_fields() -> list[str]:
    """The `EvaluateRequest` fields a sweep may vary, in declaration order."""
    return [f.name for f in dataclasses.fields(EvaluateRequest) if f.name not in NOT_AXES]


def is_target_path(name: str) -> bool:
    return name.startswith(TARGET_PREFIX) and len(name) > len(TARGET_PREFIX)


def check_axis_name(name: str, where: str) -> None:
    """An unknown axis is an error listing the valid ones."""
    if is_target_path(name) or name in request_fields():
        return
    raise SimulatorError(f"'{name}' is not an evaluation option nor a target field; choose from: "
                         f"{', '.join(request_fields())}, or target.PATH (a target field, e.g. "
                         "target.arrays.pe2d.rows, as --set takes it)", field=where)


@cache
def _adapter(name: str) -> TypeAdapter:
    hint = get_type_hints(EvaluateRequest)[name]
    return TypeAdapter(hint, config=ConfigDict(strict=True))


def check_value(name: str, value: Any, where: str) -> Any:
    """`value` for axis `name`, checked against the request field's type (target paths: a YAML scalar)."""
    if is_target_path(name):
        if isinstance(value, str):
            return parse_value(value)
        if isinstance(value, bool | int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise SimulatorError(f"{value} is not a finite number", field=where)
            return value
        raise SimulatorError(f"a target field takes a number, true/false or text, not {shown(value)}", field=where)
    if isinstance(value, list) and _takes_tuple(name):  # YAML has lists, the request a tuple (`seq_lens`)
        value = tuple(value)
    try:
        _adapter(name).validate_python(value)
    except ValidationError as exc:
        kind = get_type_hints(EvaluateRequest)[name]
        msg = exc.errors(include_url=False)[0]["msg"]
        raise SimulatorError(f"{shown(value)} is not a valid {name} ({_type_name(kind)}): {msg}",
                             field=where) from None
    return value


@cache
def _takes_tuple(name: str) -> bool:
    """Whether request field `name` holds a tuple (possibly optional), so that a YAML list is its value."""
    hint = get_type_hints(EvaluateRequest)[name]
    return any(getattr(h, "__origin__", h) is tuple for h in (hint, *getattr(hint, "__args__", ())))


def _type_name(hint: Any) -> str:
    text = str(hint).replace("typing.", "").replace("pathlib.", "")
    return text.replace("<class '", "").replace("'>", "")


def resolve_paths(value: Any, base_dir: Path) -> Any:
    """A relative YAML file path written in a sweep file, resolved against the file's folder (not the working
    directory), when that file exists there; built-in names and absolute paths are left as they are."""
    if isinstance(value, str) and value.endswith(YAML_SUFFIXES) and not Path(value).is_absolute():
        candidate = base_dir / value
        if candidate.exists():
            return str(candidate)
    return value


# -- derived fields: a small arithmetic expression over other axes (`target.arrays.pe2d.rows * 2`) ---------------

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_FUNCTIONS = {"min": min, "max": max, "int": int, "round": round, "abs": abs}


def dotted_name(node: ast.AST) -> str | None:
    """`target.arrays.pe2d.rows` as written (an attribute chain ending in a name), else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def parse_expression(text: str, where: str) -> ast.Expression:
    """Parse a derived field's expression: numbers, + - * / // % **, min/max/int/round/abs, and axis names."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise SimulatorError(f"{shown(text)} is not an expression such as 'target.arrays.pe2d.rows * 2'",
                             field=where) from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Call, ast.Load, ast.Name,
                               ast.Attribute, ast.USub, ast.UAdd, *_BINARY))
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            ok = False
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            ok = False
        if not ok:
            raise SimulatorError(f"{shown(text)}: only numbers, axis names, + - * / // % ** and "
                                 f"{', '.join(_FUNCTIONS)}() are allowed", field=where)
    return tree


def expression_names(tree: ast.Expression) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name):
            name = dotted_name(node)
            if name and name not in _FUNCTIONS and not _inside_chain(tree, node):
                names.add(name)
    return names


def _inside_chain(tree: ast.AST, node: ast.AST) -> bool:
    """True when `node` is the inner part of a longer attribute chain (`target` in `target.arrays`)."""
    return any(isinstance(parent, ast.Attribute) and parent.value is node for parent in ast.walk(tree))


def evaluate_expression(tree: ast.Expression, values: dict[str, Any], where: str) -> Any:
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        name = dotted_name(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if name is not None:
            if name not in values:
                raise SimulatorError(f"'{name}' is not an axis of this sweep; axes: {', '.join(values)}",
                                     field=where)
            return values[name]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCTIONS[node.func.id](*(ev(a) for a in node.args))
        raise SimulatorError("unsupported expression", field=where)

    try:
        value = ev(tree)
    except InputError:
        raise
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise SimulatorError(f"cannot be computed ({exc})", field=where) from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return value
