"""`--objective edp` and the library on flat and unfused: every library cascade maps onto each target whose arrays
have its ops (with a per-Einsum breakdown), and one that cannot map names the missing op."""

import pytest

from cascade_base.errors import InputError
from einsum_cascades import load_cascade
from einsum_cascades.library import CASCADES
from hw.registry import load_target
from mappers.mapspace import eligible_arrays
from simulator.evaluate import EvaluateRequest, evaluate_record
from simulator.spatial.problem import cascade_problem


def search(target, cascade, objective="latency", budget=60, seq=1024):
    return evaluate_record(EvaluateRequest(target=target, workload="BERT", seq=seq, cascade=cascade, search=True,
                                           budget=budget, objective=objective))


@pytest.mark.parametrize("target,cascade", [("fusemax", "attention-1pass"), ("unfused", "attention-3pass")])
def test_edp_objective_picks_the_best_product(target, cascade):
    runs = {o: search(target, cascade, o, budget=150) for o in ("latency", "energy", "edp")}
    builtin = evaluate_record(EvaluateRequest(target=target, workload="BERT", seq=1024))
    edp = {o: r["latency_s"] * r["energy_j"] for o, r in runs.items()}
    assert runs["edp"]["search"]["objective"] == "edp"
    assert edp["edp"] <= min(edp["latency"], edp["energy"]) * (1 + 1e-9)
    assert edp["edp"] <= builtin["latency_s"] * builtin["energy_j"] * (1 + 1e-9)


def missing_op(cascade_name, target):
    """The first Einsum no array of `target` has the ops for, or None."""
    cascade = load_cascade(cascade_name)
    sizes = {str(s): 64 for e in cascade.ranks.values() for s in getattr(e, "free_symbols", ())}
    sizes |= dict(cascade.roles.defaults or {}) if cascade.roles is not None else {}
    for spec in cascade_problem(cascade, sizes, 1).einsums:
        if not eligible_arrays(spec, target):
            return spec.name
    return None


@pytest.mark.parametrize("target", ["flat", "unfused"])
@pytest.mark.parametrize("cascade", CASCADES.names())
def test_every_library_cascade_maps_where_the_arrays_have_its_ops(target, cascade):
    missing = missing_op(cascade, load_target(target))
    if missing is not None:
        with pytest.raises(InputError, match=f"Einsum '{missing}' needs ops"):
            search(target, cascade)
        return
    r = search(target, cascade)
    names = [e.output for e in load_cascade(cascade).einsums]
    assert sorted(row["einsum"] for row in r["einsums"]) == sorted(names)
    assert sum(row["compute_s"] for row in r["einsums"]) > 0
    assert r["latency_s"] >= r["lower_bound_s"] * (1 - 1e-9)
