"""The `cascade` command line: thin wrappers that parse options, call one library function, print.

Every command takes `--json` and then prints exactly one JSON object on stdout. Errors in the user's input
(cascade text, YAML, options) are printed as one line on stderr with exit status 2, never a traceback.
Each subcommand lives in `simulator/commands/`; this module only registers them.
"""

from __future__ import annotations

import sys

import typer

from cascade_base.errors import InputError

USER_ERRORS = (InputError,)

app = typer.Typer(
    name="cascade",
    help="Design-space explorer and simulator for attention hardware.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Design-space explorer and simulator for attention hardware."""


def _register() -> None:
    from simulator.commands import analyze, bound, evaluate, hdl, listing, sweep

    app.command("list")(listing.list_command)
    app.command("analyze")(analyze.analyze_command)
    app.command("evaluate")(evaluate.evaluate_command)
    app.command("bound")(bound.bound_command)
    app.command("sweep")(sweep.sweep_command)
    app.command("hdl")(hdl.hdl_command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script (which passes the return value to `sys.exit`)."""
    try:
        app(args=argv, prog_name="cascade")
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the input needs more memory than this machine has; choose smaller sizes", file=sys.stderr)
        return 2
    except RecursionError:
        print("error: the input is nested too deeply to process; simplify it", file=sys.stderr)
        return 2
    except SystemExit as exc:  # click's standalone mode ends every run, usage errors included, this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
