"""The protocol every backend implements, and the option check derived from its options model.

A backend is three things:
- `options`: a frozen pydantic model whose fields are the `EvaluateRequest` fields this kind uses, with their
  types and limits. Whatever else a user sets is refused by name (never silently ignored): the check is derived
  from the model, not from a hand-written list.
- `plan(target, options, cascade)`: validates the cascade, target and mapping together, once; returns a frozen plan.
- `cost(plan)`: returns a frozen, typed result (a dataclass with `latency_s`); JSON is made only at the CLI edge.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from pydantic import BaseModel

from cascade_base.spec import format_validation_error
from simulator.errors import SimulatorError


class Backend(Protocol):
    kind: str
    options: type[BaseModel]
    #: a sentence on what this kind models, used in the message when an option is refused
    scope_note: str

    def plan(self, target: Any, options: Any) -> Any: ...

    def cost(self, plan: Any) -> Any: ...


#: request fields whose command-line option is not their name with dashes (`pass` is a Python keyword)
OPTION_NAMES = {"training_pass": "--pass"}


def option_name(field: str) -> str:
    """`kv_heads` -> `--kv-heads`; `training_pass` -> `--pass`."""
    return OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def given_options(request: Any, skip: tuple[str, ...] = ("target", "overrides")) -> dict[str, Any]:
    """The request's fields that differ from their defaults: what the user actually asked for."""
    out = {}
    for f in dataclasses.fields(request):
        if f.name in skip:
            continue
        value = getattr(request, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if value != default:
            out[f.name] = value
    return out


def check_options(backend: Backend, request: Any, target_name: str) -> Any:
    """The backend's options model built from what the user gave; an option the kind cannot use is an error
    naming it and the options the kind takes."""
    given = given_options(request)
    accepted = backend.options.model_fields
    refused = [name for name in given if name not in accepted]
    if refused:
        takes = ", ".join(option_name(n) for n in accepted)
        also = f" (nor {', '.join(option_name(n) for n in refused[1:])})" if len(refused) > 1 else ""
        raise SimulatorError(f"not used by {backend.kind} targets{also}: they model {backend.scope_note}; drop it. "
                             f"{target_name} takes {takes}", source=option_name(refused[0]))
    try:
        return backend.options.model_validate(given)
    except Exception as exc:  # pydantic's ValidationError: one line naming the option
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        err = exc.errors(include_url=False)[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        line = format_validation_error(exc, backend.options, option_name(field), SimulatorError)
        raise SimulatorError(line.message.replace("required field is missing; add it",
                                                  f"{option_name(field)} is required on {backend.kind} targets"),
                             source=option_name(field)) from None
