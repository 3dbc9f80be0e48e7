"""`search:`: a multi-objective optimiser over hardware parameters instead of a listed grid.

optuna's NSGA-II (`optuna.samplers.NSGAIISampler`) proposes one generation (`population` points) at a time; the
generation is evaluated like any sweep (same store, same workers, same keys, so `--resume` replays a search from
its stored points without computing them again: with the same seed the optimiser asks for the same points) and its
objectives are told back; constraints are NSGA-II's constraint violations. One study runs in each combination of
the grid and zip (e.g. per workload). optuna rather than pymoo: its ask-and-tell interface fits our batched,
stored evaluation loop, it takes integer, log-scaled and categorical parameters natively, and it is pure Python.
"""

from __future__ import annotations

from typing import Any

from simulator.errors import SimulatorError
from simulator.sweep import execute
from simulator.sweep.keys import point_id, point_key
from simulator.sweep.objectives import Constraint, sense, value_of
from simulator.sweep.space import Distribution
from simulator.sweep.spec import SweepSpec
from simulator.sweep.store import SweepStore


def _distribution(dist: Distribution) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if dist.choices is not None:
        return CategoricalDistribution(dist.choices)
    low, high = dist.bounds()
    log = dist.log_range is not None
    if dist.integer:
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def violations(result: dict[str, Any] | None, constraints: list[Constraint]) -> list[float]:
    """NSGA-II's constraint values: <= 0 where a constraint holds, the relative excess where it does not."""
    out = []
    for c in constraints:
        value = value_of(result or {}, c.key)
        if not isinstance(value, int | float):
            out.append(1.0)
            continue
        scale = abs(c.bound) or 1.0
        excess = {"<=": value - c.bound, "<": value - c.bound, ">=": c.bound - value, ">": c.bound - value,
                  "==": abs(value - c.bound)}[c.op]
        out.append(excess / scale)
    return out


def _sampler(spec: SweepSpec, seed: int) -> Any:
    import optuna

    assert spec.search is not None
    if spec.search.algorithm == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    legacy = spec.constraints and not hasattr(optuna.trial.Trial, "set_constraint")  # optuna < 5
    constraints_func = (lambda trial: trial.user_attrs["constraints"]) if legacy else None
    return optuna.samplers.NSGAIISampler(population_size=spec.search.population, seed=seed,
                                         constraints_func=constraints_func)


def run_search(spec: SweepSpec, store: SweepStore, workers: int, scheduler: str | None, on_progress: Any,
               notes: list[str]) -> tuple[Any, list[execute.Item], int, int]:
    """Run the search; returns (runner, every distinct item evaluated, points resumed, workers used)."""
    try:
        import optuna
    except ImportError:
        raise SimulatorError("search: needs optuna: pip install optuna", field="search") from None
    from simulator.sweep.run import Runner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = spec.search
    assert search is not None
    contexts = spec.contexts()
    distributions = {name: _distribution(d) for name, d in search.axes.items()}
    used, note = (workers, None) if scheduler else execute.usable_workers(workers, search.population)
    notes += [note] if note else []
    runner = Runner(spec, store, used, scheduler, on_progress, search.n * len(contexts))
    constraints = runner.constraints
    seen: dict[str, execute.Item] = {}
    resumed = 0
    runner.report()
    for index, context in enumerate(contexts):
        study = optuna.create_study(directions=["maximize" if sense(o) < 0 else "minimize" for o in spec.objectives],
                                    sampler=_sampler(spec, search.seed + index))
        remaining = search.n
        while remaining:
            trials = [study.ask(distributions) for _ in range(min(search.population, remaining))]
            items = []
            for trial in trials:
                point = spec.with_derived({**context, **trial.params})
                key = point_key(point)
                items.append((key, point_id(point), point))
            stored = store.done_keys()
            todo = list({i[0]: i for i in items if i[0] not in stored and i[0] not in seen}.values())
            resumed += len({i[0] for i in items if i[0] in stored and i[0] not in seen})
            runner.done += len(items) - len(todo)
            runner.evaluate(todo)
            results = store.load(i[0] for i in items)
            for trial, (key, _, _) in zip(trials, items, strict=True):
                result = results[key].result if key in results else None
                values = [value_of(result or {}, o) for o in spec.objectives]
                if result is None or not all(isinstance(v, int | float) for v in values):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                excess = violations(result, constraints)
                if hasattr(trial, "set_constraint"):
                    for constraint, value in zip(constraints, excess, strict=True):
                        trial.set_constraint(constraint.text, value)
                else:
                    trial.set_user_attr("constraints", excess)
                study.tell(trial, [float(v) for v in values])
            seen.update({i[0]: i for i in items})
            remaining -= len(trials)
    return runner, list(seen.values()), resumed, used
