"""`--search`: it finds mappings no slower than the built-in ones, its mapping reads back to the same numbers, it is
deterministic, it maps the library cascades the arrays have ops for, and bad requests are one-line errors."""

import json

import pytest

from mappers.mapping import load_mapping
from simulator.cli import main
from simulator.evaluate import EvaluateRequest, evaluate_record

BUDGET = 400


def search(target, cascade=None, seq=1024, workload="BERT", **kw):
    return evaluate_record(EvaluateRequest(target=target, workload=workload, seq=seq, cascade=cascade,
                                           search=True, budget=kw.pop("budget", BUDGET), **kw))


@pytest.mark.parametrize("target,workload,seq", [("fusemax", "BERT", 1024), ("flat", "XLM", 4096),
                                                 ("unfused", "BERT", 1 << 16)])
def test_search_is_no_slower_than_the_builtin_mapping(target, workload, seq):
    builtin = evaluate_record(EvaluateRequest(target=target, workload=workload, seq=seq))
    found = search(target, builtin["cascade"], seq, workload)
    assert found["latency_s"] <= builtin["latency_s"] * (1 + 1e-9)
    assert found["lower_bound_s"] <= found["latency_s"] * (1 + 1e-9)
    assert found["search"]["mappings_costed"] <= BUDGET
    assert found["bound_gap"] == pytest.approx(found["latency_s"] / found["lower_bound_s"] - 1, abs=1e-12)


def test_mapping_written_with_out_reads_back_to_the_same_numbers(tmp_path):
    out = tmp_path / "found.yaml"
    found = search("fusemax", "mla", out=out, budget=120)
    assert found["search"]["out"] == str(out)
    mapping, _ = load_mapping(out)
    assert mapping.cascade == "mla"
    for scope in ("attention", "layer"):
        back = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1024, cascade="mla",
                                               mapping=out, scope=scope))
        if scope == "attention":
            assert back["latency_s"] == found["latency_s"] and back["energy_j"] == found["energy_j"]
            assert back["bytes_by_level"] == found["bytes_by_level"] and back["einsums"] == found["einsums"]
        assert back["search"] is None


def test_search_is_deterministic_for_a_seed(tmp_path):
    a, b = search("flat", "attention-1pass", seed=3, budget=150), search("flat", "attention-1pass", seed=3, budget=150)
    assert a["latency_s"] == b["latency_s"] and a["einsums"] == b["einsums"]
    assert a["search"]["partition"] == b["search"]["partition"]


def test_a_cascade_the_mapping_does_not_cover_is_searched_automatically():
    r = evaluate_record(EvaluateRequest(target="flat", workload="BERT", seq=1024, cascade="mla-absorbed", budget=80))
    assert "searched" in r["search"]["reason"] and "attention-3pass" in r["search"]["reason"]
    assert {row["einsum"] for row in r["einsums"]} >= {"QL", "SLNC", "AV"}


@pytest.mark.parametrize("cascade", ["attention-2pass", "attention-3pass", "attention-causal", "mla-absorbed",
                                     "grouped-query-attention", "lightning-attention-2"])
def test_library_cascades_map_with_a_breakdown_per_einsum(cascade):
    from einsum_cascades import load_cascade

    r = search("fusemax", cascade, seq=1024, budget=120)
    names = [e.output for e in load_cascade(cascade).einsums]
    assert sorted(row["einsum"] for row in r["einsums"]) == sorted(names)
    assert sum(row["compute_s"] for row in r["einsums"]) > 0
    assert r["latency_s"] >= r["lower_bound_s"] * (1 - 1e-9)


@pytest.fixture
def cli(capsys):
    def run(*args, target=("--target", "fusemax", "--workload", "BERT", "--seq", "1024")):
        code = main(["evaluate", *target, *args, "--json"])
        captured = capsys.readouterr()
        return code, (captured.out if code == 0 else captured.err).strip()
    return run


@pytest.mark.parametrize("args,needle", [
    (["--search", "--budget", "0"], "--budget"),
    (["--search", "--seed", "-1"], "--seed"),
    (["--search", "--objective", "speed"], "'latency', 'energy' or 'edp'"),
    (["--search", "--mapping", "mappers/builtin/fusemax.yaml"], "--mapping gives one"),
    (["--out", "x.yaml"], "add --search"),
    (["--cascade", "linear-attention"], "needs ops ['elu1']"),
    (["--search", "--set", "global_buffer.capacity_bytes=2", "--budget", "3000"], "capacity_bytes = 2"),
])
def test_bad_requests_are_one_line_errors(cli, args, needle):
    code, out = cli(*args)
    assert code == 2 and needle in out and len(out.splitlines()) == 1, out


def test_the_missing_op_is_named_per_array(cli):
    code, out = cli("--cascade", "flash-attention-2")
    assert code == 2 and "'LSE'" in out and "pe2d lacks log" in out and "pe1d lacks log" in out


def test_other_kinds_refuse_the_search_options(cli):
    code, out = cli("--budget", "5", target=("--target", "a100", "--batch", "1", "--heads", "8", "--seq", "1024",
                                              "--head-dim", "64"))
    assert code == 2 and "--budget" in out


def test_search_json_is_one_object(cli):
    code, out = cli("--search", "--budget", "60", "--objective", "energy", "--seed", "1")
    record = json.loads(out)
    assert code == 0 and record["search"]["objective"] == "energy" and record["search"]["seed"] == 1


def test_order_moves_are_every_permutation_up_to_four_ranks_and_single_moves_beyond():
    import itertools as it

    from mappers.search import ALL_ORDERS_UP_TO, _order_moves

    short = tuple("abcd"[:ALL_ORDERS_UP_TO])
    assert sorted(_order_moves(short)) == sorted(it.permutations(short))
    long = tuple("abcdefg")
    moves = set(_order_moves(long))
    assert long not in moves and len(moves) < 50  # not 7! = 5040
    for m in moves:  # each is the order with one rank taken out and put back elsewhere
        assert sorted(m) == sorted(long)
        assert any(tuple(x for x in long if x != r) == tuple(x for x in m if x != r) for r in long)
    assert ("b", "a", "c", "d", "e", "f", "g") in moves and ("g", "a", "b", "c", "d", "e", "f") in moves
