"""Cascade files: YAML text -> validated, immutable `Cascade`.

Format (see examples/cascades/README.md):

    name: attention-3pass
    description: one line
    citation: where the algorithm comes from
    ranks: {m: M, p: P, e: E, f: F}          # rank -> size: an integer or an expression of size symbols
    splits: {m: [m1, m0, M0]}                # m = m1*M0 + m0; m1 has size M/M0, referred to as M1
    inputs: {Q: [e, p], K: [e, m], V: [f, m]}
    initial: {RM: -inf, RD: 0}               # value at index 0 of an iterative tensor (written at m1+1)
    einsums: |
      QK[m,p] = Q[e,p] * K[e,m]
      GM[p] = QK[m,p] :: max(m)
    outputs: [AV]
    roles: {reference: softmax-attention, query: Q, ..., ranks: {...}}   # see einsum_cascades/roles.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sympy
import yaml

from cascade_base.spec import read_text, validate_model
from cascade_base.yamlio import parse_yaml_node
from einsum_cascades.cascade import Cascade, Split
from einsum_cascades.errors import CascadeError
from einsum_cascades.expr import ParsedInitial
from einsum_cascades.library import CASCADES
from einsum_cascades.parser import parse_einsum
from einsum_cascades.roles import NAMED_MASKS, REQUIRED_TENSORS, Roles, check_mask_predicate, legacy_roles
from einsum_cascades.sizes import parse_size, symbol
from einsum_cascades.validate import build_einsums

ALLOWED_KEYS = {"name", "description", "citation", "ranks", "splits", "inputs", "initial", "einsums", "outputs",
                "roles", "verify"}
REQUIRED_KEYS = ("name", "ranks", "inputs", "einsums", "outputs")


def load_cascade(name_or_path: str | Path) -> Cascade:
    """Load a built-in cascade by name, or a cascade YAML file by path (parsed once per file and mtime)."""
    return CASCADES.load(name_or_path, _load_file)


def _load_file(path: Path) -> Cascade:
    return parse_cascade(read_text(path, CascadeError), source=str(path))


def parse_cascade(text: str, source: str = "<string>") -> Cascade:
    """Parse and validate the YAML text of one cascade."""
    data, root = parse_yaml_node(text, source, CascadeError)
    if not isinstance(data, dict):
        raise CascadeError(f"expected a YAML mapping with keys {', '.join(REQUIRED_KEYS)}, "
                           f"found {type(data).__name__}", source=source)
    marks = _key_lines(root)
    unknown = sorted(str(k) for k in data if k not in ALLOWED_KEYS)
    if unknown:
        raise CascadeError(f"unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(ALLOWED_KEYS))}",
                           source=source, line=marks.get(unknown[0]))
    for key in REQUIRED_KEYS:
        if key not in data:
            raise CascadeError(f"missing key {key!r}; a cascade needs {', '.join(REQUIRED_KEYS)}", source=source)

    def fail(key: str, message: str) -> CascadeError:
        return CascadeError(f"field '{key}': {message}", source=source, line=marks.get(key))

    ranks, splits, symbols = _ranks(data["ranks"], data.get("splits") or {}, fail)
    inputs = _inputs(data["inputs"], ranks, splits, fail)
    initial = _initial(data.get("initial") or {}, fail)
    lines = _einsum_lines(data["einsums"], text, root, fail)
    file_lines = text.split("\n")
    parsed = [parse_einsum(_indent(file_lines, line) + code, source=source, line=line) for line, code in lines]
    initial_lines = [item for item in parsed if isinstance(item, ParsedInitial)]
    for item in initial_lines:
        _add_initial(initial, item, source)
    parsed = [item for item in parsed if not isinstance(item, ParsedInitial)]
    outputs = data["outputs"]
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs) or not outputs:
        raise fail("outputs", "expected a list of tensor names, e.g. [AV]")
    einsums, tensor_ranks, iterative = build_einsums(parsed, ranks, splits, inputs, initial, symbols, source)
    for out in outputs:
        if out not in {e.output for e in einsums}:
            raise fail("outputs", f"{out!r} is not written by any Einsum")
    for item in initial_lines:
        _check_initial(item, tensor_ranks, iterative, source)
    for tensor in initial:
        if tensor not in iterative:
            raise fail("initial", f"{tensor!r} is not an iterative tensor (written at an index like m1+1)")
    roles = _roles(data, inputs, tensor_ranks, ranks, splits, fail, source)
    verify = roles.model_dump(exclude_none=True) if roles is not None else {}
    return Cascade(
        name=str(data["name"]), description=str(data.get("description", "")).strip(),
        citation=str(data.get("citation", "")).strip(), ranks=ranks, splits=splits, inputs=inputs,
        outputs=tuple(outputs), einsums=einsums, tensor_ranks=tensor_ranks, iterative=iterative,
        initial=initial, symbols=symbols, verify=verify, roles=roles, source=source,
    )


def _roles(data: dict, inputs, tensor_ranks, ranks, splits, fail, source: str) -> Roles | None:
    """The validated `roles:` block (or the older `verify:` block read as roles); None when neither is given."""
    if "roles" in data and "verify" in data:
        raise fail("verify", "give 'roles:' or the older 'verify:', not both; move its keys under 'roles:'")
    key = "roles" if "roles" in data else "verify"
    raw = data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail(key, "expected a mapping, e.g. {reference: softmax-attention, query: Q, ...}")
    if key == "verify":
        query = raw.get("query")
        raw = legacy_roles(raw, inputs.get(query, ()) if isinstance(query, str) else ())
    roles = validate_model(Roles, raw, source, CascadeError)
    tensors = set(inputs) | set(tensor_ranks)
    needed = REQUIRED_TENSORS[roles.reference]
    for role in (*needed, "logsumexp"):
        name = roles.tensor(role)
        if name is None and role in needed:
            raise fail(key, f"reference {roles.reference!r} needs the tensor role {role!r}; add {role}: TENSOR")
        if name is not None and name not in tensors:
            raise fail(key, f"{role}: {name!r} is not a tensor of this cascade (tensors: {', '.join(sorted(tensors))})")
    split_parts = {p for s in splits for p in (s.outer, s.inner)}
    logical = [r for r in ranks if r not in split_parts]
    for role, rank in roles.ranks.named().items():
        if rank not in logical:
            raise fail(key, f"ranks.{role}: {rank!r} is not a rank of this cascade (ranks: {', '.join(logical)})")
    if roles.mask not in NAMED_MASKS:
        try:
            check_mask_predicate(roles.mask)
        except ValueError as exc:
            raise fail(key, str(exc)) from None
    if roles.mask == "sliding-window" and roles.window is None:
        raise fail(key, "mask: sliding-window needs window: SYMBOL (the size symbol of its width, e.g. W)")
    return roles


def _add_initial(initial: dict[str, float], item: ParsedInitial, source: str) -> None:
    tensor = item.output.tensor
    if tensor in initial:
        raise CascadeError(f"initial value of {tensor!r} given twice", source=source, line=item.line)
    initial[tensor] = item.value


def _check_initial(item: ParsedInitial, tensor_ranks, iterative, source: str) -> None:
    """`RM[0,p] = -inf` must index RM with its own ranks, with 0 on its iterative rank."""
    tensor = item.output.tensor
    expected = tensor_ranks.get(tensor)
    if tensor not in iterative or expected is None:
        raise CascadeError(f"{tensor!r} is not an iterative tensor (written at an index like m1+1); only those take "
                           "an initial value", source=source, line=item.line)
    written = tuple(i.var if i.var is not None else iterative[tensor] for i in item.output.indices)
    zero_at = next(k for k, i in enumerate(item.output.indices) if i.var is None)
    if written != expected or expected[zero_at] != iterative[tensor]:
        shown = ",".join("0" if r == iterative[tensor] else r for r in expected)
        raise CascadeError(f"initial value of {tensor!r} must be written {tensor}[{shown}] = value",
                           source=source, line=item.line)


def _indent(file_lines: list[str], line: int | None) -> str:
    """The YAML block's indentation of `line`, so that error columns count from the start of the file's line."""
    if line is None or not 0 < line <= len(file_lines):
        return ""
    raw = file_lines[line - 1]
    return raw[: len(raw) - len(raw.lstrip())]


def _key_lines(root: yaml.Node | None) -> dict[str, int]:
    """1-based line of each top-level key, for error messages."""
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in root.value if isinstance(k, yaml.ScalarNode)}


def _ranks(raw: Any, raw_splits: Any, fail) -> tuple[dict[str, sympy.Expr], tuple[Split, ...], dict]:
    if not isinstance(raw, dict) or not raw:
        raise fail("ranks", "expected a mapping of rank name to size, e.g. {m: M, p: P}")
    ranks: dict[str, sympy.Expr] = {}
    for name, size in raw.items():
        if not isinstance(name, str) or not name.isidentifier() or not name[0].islower():
            raise fail("ranks", f"rank names are lower-case identifiers, found {name!r}")
        ranks[name] = parse_size(size, f"rank {name!r}")
    symbols: dict[str, sympy.Expr] = {}
    if not isinstance(raw_splits, dict):
        raise fail("splits", "expected a mapping such as {m: [m1, m0, M0]}")
    splits = []
    for rank, spec in raw_splits.items():
        if rank not in ranks:
            raise fail("splits", f"splits unknown rank {rank!r}; ranks are {', '.join(ranks)}")
        if not (isinstance(spec, list) and len(spec) == 3 and all(isinstance(s, str | int) for s in spec)):
            raise fail("splits", f"rank {rank!r}: expected [outer, inner, tile], e.g. [m1, m0, M0]")
        outer, inner, tile_text = spec
        tile = parse_size(tile_text, f"splits.{rank} tile")
        for part in (outer, inner):
            if not isinstance(part, str) or not part.isidentifier() or part in ranks:
                raise fail("splits", f"rank {rank!r}: part {part!r} must be a new lower-case rank name")
        ranks[outer] = ranks[rank] / tile
        ranks[inner] = tile
        splits.append(Split(rank, outer, inner, tile))
    free = {str(s) for size in ranks.values() for s in size.free_symbols}
    for name, size in ranks.items():
        # `M1` names the size of rank m1; skip a name that already is a free size symbol (h: H/G keeps H free)
        if name.upper() not in free or size == symbol(name.upper()):
            symbols[name.upper()] = size
    return ranks, tuple(splits), symbols


def _inputs(raw: Any, ranks, splits, fail) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or not raw:
        raise fail("inputs", "expected a mapping of tensor name to its ranks, e.g. {Q: [e, p]}")
    split_parts = {p for s in splits for p in (s.outer, s.inner)}
    inputs = {}
    for tensor, tensor_ranks in raw.items():
        if not isinstance(tensor_ranks, list) or not all(isinstance(r, str) for r in tensor_ranks):
            raise fail("inputs", f"tensor {tensor!r}: expected a list of rank names")
        for r in tensor_ranks:
            if r not in ranks or r in split_parts:
                raise fail("inputs", f"tensor {tensor!r} has unknown rank {r!r}; declared ranks: "
                                     f"{', '.join(k for k in ranks if k not in split_parts)}")
        inputs[str(tensor)] = tuple(tensor_ranks)
    return inputs


def _initial(raw: Any, fail) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise fail("initial", "expected a mapping of tensor to value, e.g. {RM: -inf, RD: 0}")
    out = {}
    for tensor, value in raw.items():
        try:
            out[str(tensor)] = float(value)
        except (TypeError, ValueError):
            raise fail("initial", f"{tensor}: expected a number or -inf, found {value!r}") from None
    return out


def _einsum_lines(raw: Any, text: str, root, fail) -> list[tuple[int | None, str]]:
    """(line number in the file, code) of each Einsum, comments and blank lines skipped."""
    if isinstance(raw, str):
        items = raw.split("\n")
        first = None
        if isinstance(root, yaml.MappingNode):
            for k, v in root.value:
                if getattr(k, "value", None) == "einsums":
                    first = v.start_mark.line + (1 if v.style in ("|", ">") else 0) + 1
        numbered = [(None if first is None else first + i, item) for i, item in enumerate(items)]
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        numbered = [(None, item) for item in raw]
    else:
        raise fail("einsums", "expected a block of Einsum lines (einsums: |) or a list of strings")
    lines = [(n, code) for n, code in numbered if code.split("#", 1)[0].strip()]
    if not lines:
        raise fail("einsums", "no Einsums; write one per line, e.g. 'QK[m,p] = Q[e,p] * K[e,m]'")
    return lines


__all__ = ["load_cascade", "parse_cascade", "symbol"]
