"""Variable-length batches on GPUs (`--seq-lens`, `--kv-seq-lens`; `predict(..., one_launch=True)`): the sequences
of one launch. N equal sequences are the ordinary batch of N; a mix of short and long ones costs less than padding
every sequence to the longest; the launch decides waves, split-KV and its dispatch tail once; bad combinations of
options are one-line errors naming the option."""

import dataclasses
import heapq
import json
from dataclasses import fields, is_dataclass

import numpy as np
import pytest

from hw import load_target
from simulator.cli import main
from simulator.errors import SimulatorError
from simulator.evaluate import EvaluateRequest, evaluate
from simulator.gpu.backward import predict_backward
from simulator.gpu.constants import FITTED
from simulator.gpu.model import IN_ORDER_TAIL, Shapes, in_order_makespan, predict
from simulator.gpu.varlen import launch_makespan


def _numbers(p) -> dict[str, np.ndarray]:
    """Every numeric array of a Prediction, by dotted name."""
    out = {}
    for f in fields(p):
        v = getattr(p, f.name)
        if is_dataclass(v) and f.name in ("utilization", "phases_s", "grid"):
            out.update({f"{f.name}.{g.name}": np.asarray(getattr(v, g.name), dtype=float) for g in fields(v)})
        elif isinstance(v, np.ndarray) and v.dtype.kind in "fi":
            out[f.name] = v.astype(float)
    return out


ARGS = {"d_qk": 128, "d_v": 128, "dtype": "bf16"}

# (batch N, heads, kv_heads, seq, kv_seq): prefill, GQA, odd lengths, short sequences, decode (split-KV)
EQUAL = [(4, 16, 16, 8192, 8192), (2, 32, 8, 4096, 4096), (3, 16, 16, 1000, 3000), (16, 16, 16, 512, 512),
         (8, 32, 8, 1, 4096), (64, 32, 8, 1, 1024)]


@pytest.mark.parametrize("target", ["a100", "h100", "b200"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("fn", [predict, predict_backward])
def test_n_equal_sequences_are_the_batch_of_n(target, causal, fn):
    gpu = load_target(target)
    for n, h, kvh, s, s2 in EQUAL:
        ref = fn(gpu, Shapes.of(n, h, kvh, s, s2), causal=causal, **ARGS)
        one = fn(gpu, Shapes.of(np.ones(n, dtype=int), h, kvh, s, s2), causal=causal, one_launch=True, **ARGS)
        assert len(one) == 1 and one.bound[0] == ref.bound[0] and one.kernel == ref.kernel
        a, b = _numbers(ref), _numbers(one)
        for name in a:
            np.testing.assert_allclose(b[name], a[name], rtol=1e-9, err_msg=f"{target} {(n, h, kvh, s, s2)} {name}")


@pytest.mark.parametrize("kw", [{"window": 1024}, {"page_size": 256, "family": "fa2"}, {"family": "cudnn"}])
def test_equal_sequences_with_a_window_a_paged_cache_or_another_kernel(kw):
    gpu = load_target("h100")
    fns = [predict] if "page_size" in kw else [predict, predict_backward]
    for fn in fns:
        ref = fn(gpu, Shapes.of(3, 16, 16, 4096, 4096), causal=True, **ARGS, **kw)
        one = fn(gpu, Shapes.of([1, 1, 1], 16, 16, 4096, 4096), causal=True, one_launch=True, **ARGS, **kw)
        a, b = _numbers(ref), _numbers(one)
        for name in a:
            np.testing.assert_allclose(b[name], a[name], rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("target", ["a100", "h100", "b200"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("fn", [predict, predict_backward])
def test_a_mixed_batch_costs_less_than_padding_to_the_longest(target, causal, fn):
    gpu = load_target(target)
    lens = np.array([512, 2048, 8192, 1024])
    mixed = fn(gpu, Shapes.of(1, 16, 16, lens, lens), causal=causal, one_launch=True, **ARGS)
    padded = fn(gpu, Shapes.of(lens.size, 16, 16, lens.max(), lens.max()), causal=causal, **ARGS)
    alone = fn(gpu, Shapes.of(1, 16, 16, lens, lens), causal=causal, **ARGS)
    assert mixed.latency_s[0] < padded.latency_s[0]
    assert mixed.flops[0] == pytest.approx(alone.flops.sum()) and mixed.flops[0] < padded.flops[0]
    assert mixed.grid.kv_tiles[0] == alone.grid.kv_tiles.sum() and mixed.grid.ctas[0] == alone.grid.ctas.sum()
    assert mixed.hbm_bytes[0] < padded.hbm_bytes[0]


@pytest.mark.parametrize("target", ["a100", "h100", "b200"])
def test_decode_splits_the_keys_once_for_the_launch(target):
    """Requests decoding against caches of different lengths: FlashAttention-2's num_splits heuristic on the
    launch's CTAs (not each request's), capped by the longest cache's key tiles; cheaper than padding."""
    gpu = load_target(target)
    kv = np.array([1024, 8192, 32768, 512])
    mixed = predict(gpu, Shapes.of(1, 32, 8, 1, kv), causal=True, one_launch=True, **ARGS)
    alone = predict(gpu, Shapes.of(1, 32, 8, 1, kv), causal=True, **ARGS)
    padded = predict(gpu, Shapes.of(kv.size, 32, 8, 1, kv.max()), causal=True, **ARGS)
    base = kv.size * 8  # one CTA per (request, KV head): the query heads of a group are packed
    assert mixed.grid.ctas[0] == base * mixed.grid.splits[0]
    assert mixed.grid.splits[0] == min(gpu.sm_count // base, -(-kv.max() // mixed.kernel.block_kv))
    assert alone.grid.splits[np.argmax(kv)] > mixed.grid.splits[0] > 1  # the longest request alone splits further
    assert mixed.phases_s.launch[0] == 2 * FITTED.launch_latency_s  # the launch and its combine kernel
    assert mixed.latency_s[0] < padded.latency_s[0]
    # Short caches: the longest one's key tiles cap the splits.
    short = predict(gpu, Shapes.of(1, 32, 8, 1, [128, 256]), causal=True, one_launch=True, **ARGS)
    assert short.grid.splits[0] == min(gpu.sm_count // 16, -(-256 // short.kernel.block_kv))


def test_one_launch_pays_one_launch_latency():
    gpu = load_target("h100")
    lens = np.array([512, 1024, 2048])
    one = predict(gpu, Shapes.of(1, 16, 16, lens, lens), causal=True, one_launch=True, **ARGS)
    alone = predict(gpu, Shapes.of(1, 16, 16, lens, lens), causal=True, **ARGS)
    assert one.phases_s.launch[0] == alone.phases_s.launch[0] and alone.phases_s.launch.sum() > one.phases_s.launch[0]


def _exact(costs: list[float], slots: int) -> float:
    """Exact greedy list scheduling: each CTA, in dispatch order, on the first free slot."""
    free = [0.0] * slots
    for c in costs:
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def _rows(lens, bq=128, bkv=128):
    """Causal cost rows (key tiles + 1 per query tile) of self-attention sequences, padded with zeros."""
    nq = [-(-s // bq) for s in lens]
    cost = np.zeros((len(lens), max(nq)))
    for i, s in enumerate(lens):
        cost[i, :nq[i]] = [np.ceil(min((j + 1) * bq, s) / bkv) + 1.0 for j in range(nq[i])]
    return cost


@pytest.mark.parametrize("sequence_major", [False, True])
@pytest.mark.parametrize(("lens", "heads", "slots"), [
    ([16384, 512, 512], 8, 132),  # the costliest tiles first, cheap ones after
    ([512, 2048, 8192, 1024], 16, 132),
    ([4096, 4096, 1024, 16384, 256], 8, 108),
    ([2048, 8192, 512], 32, 148),
])
def test_launch_makespan_follows_the_exact_dispatch(lens, heads, slots, sequence_major):
    """A mixed launch dispatched sequence by sequence for each head (FA2's grid) or head by head for each sequence
    (FA3's varlen scheduler): the estimate is within 8% of the exact greedy schedule."""
    cost = _rows(lens)
    rows = [r[r > 0] for r in cost]
    order = [r for i in range(len(lens)) for _ in range(heads) for r in [rows[i]]] if sequence_major else \
        [r for _ in range(heads) for r in rows]
    exact = _exact([c for r in order for c in r], slots)
    got = launch_makespan(cost, np.ones(len(lens), dtype=int), heads, sequence_major, slots, 1, float(slots),
                          IN_ORDER_TAIL)
    assert got == pytest.approx(exact, rel=0.08)


@pytest.mark.parametrize("sequence_major", [False, True])
@pytest.mark.parametrize(("seq", "n", "heads", "slots"), [(512, 4, 16, 132), (4096, 3, 8, 132), (32768, 2, 8, 264)])
def test_launch_makespan_of_equal_sequences_is_in_order_makespan(seq, n, heads, slots, sequence_major):
    cost = _rows([seq] * n)
    ctas_per_sm = 2 if slots > 150 else 1
    sms = slots / ctas_per_sm
    got = launch_makespan(cost, np.ones(n, dtype=int), heads, sequence_major, slots, ctas_per_sm, sms, IN_ORDER_TAIL)
    ref = in_order_makespan(cost[:1], np.array([n * heads]), np.array([float(slots)]), ctas_per_sm, sms)[0]
    assert got == pytest.approx(ref, rel=1e-12)


# -- the evaluate path and the options -------------------------------------------------------------------------

BASE = {"target": "h100", "heads": 16, "head_dim": 128}


def _evaluate(**kw):
    return dataclasses.asdict(evaluate(EvaluateRequest(**{**BASE, **kw})))


def test_evaluate_a_mixed_batch_and_its_padded_and_equal_forms():
    mixed = _evaluate(seq_lens=(512, 2048, 8192), causal=True)
    assert mixed["shape"]["seq_lens"] == [512, 2048, 8192] and mixed["shape"]["kv_seq_lens"] == [512, 2048, 8192]
    assert (mixed["shape"]["batch"], mixed["shape"]["seq"], mixed["shape"]["kv_seq"]) == (3, 8192, 8192)
    padded = _evaluate(batch=3, seq=8192, causal=True)
    assert set(padded) == set(mixed) and set(padded["shape"]) < set(mixed["shape"])
    assert mixed["latency_s"] < padded["latency_s"] and mixed["flops"] < padded["flops"]
    equal = _evaluate(seq_lens=(8192, 8192, 8192), causal=True)
    assert equal["latency_s"] == pytest.approx(padded["latency_s"], rel=1e-9)
    assert equal["roofline_latency_s"] == pytest.approx(padded["roofline_latency_s"], rel=1e-9)


@pytest.mark.parametrize("training_pass", ["bwd", "fwd+bwd"])
def test_backward_passes_of_a_varlen_batch(training_pass):
    lens = (1024, 4096, 2048)
    mixed = _evaluate(seq_lens=lens, causal=True, training_pass=training_pass)
    equal = _evaluate(seq_lens=(4096,) * 3, causal=True, training_pass=training_pass)
    padded = _evaluate(batch=3, seq=4096, causal=True, training_pass=training_pass)
    assert equal["latency_s"] == pytest.approx(padded["latency_s"], rel=1e-9)
    assert mixed["latency_s"] < padded["latency_s"]
    assert mixed["latency_s"] == pytest.approx(sum(mixed["pass_latency_s"].values()))
    if training_pass == "fwd+bwd":
        assert mixed["pass_latency_s"]["fwd"] == pytest.approx(_evaluate(seq_lens=lens, causal=True)["latency_s"])


def test_kv_seq_lens_alone_is_a_decode_batch():
    kv = (1024, 8192, 32768, 512)
    mixed = _evaluate(seq=1, kv_seq_lens=kv, kv_heads=4)
    assert mixed["shape"]["seq_lens"] == [1, 1, 1, 1] and mixed["shape"]["kv_seq_lens"] == list(kv)
    assert mixed["grid"]["splits"] > 1
    padded = _evaluate(batch=4, seq=1, kv_seq=max(kv), kv_heads=4)
    assert mixed["latency_s"] < padded["latency_s"]
    # --seq-lens with --kv-seq-lens: chunked prefill against caches of different lengths
    chunks = _evaluate(seq_lens=(256, 256), kv_seq_lens=(4096, 1024), causal=True)
    assert chunks["shape"]["kv_seq_lens"] == [4096, 1024] and chunks["shape"]["kv_seq"] == 4096


def test_page_size_divides_every_kv_length():
    paged = _evaluate(seq=1, kv_seq_lens=(1024, 4096), page_size=256, kernel="fa2")["bytes_by_level"]["hbm"]
    assert paged > _evaluate(seq=1, kv_seq_lens=(1024, 4096), kernel="fa2")["bytes_by_level"]["hbm"]  # block table


@pytest.mark.parametrize(("kw", "match"), [
    ({"seq": 512, "seq_lens": (512, 1024)}, "--seq 512: --seq-lens gives each sequence's query length; drop --seq"),
    ({"batch": 3, "seq_lens": (512, 1024)}, "--batch 3: the batch is the 2 sequences of --seq-lens; drop --batch"),
    ({"seq_lens": (512, 1024), "kv_seq_lens": (512, 1024, 2048)}, "--kv-seq-lens has 3 lengths but --seq-lens has 2"),
    ({"seq": 1, "kv_seq": 4096, "kv_seq_lens": (512, 1024)}, "--kv-seq 4096: .* drop --kv-seq"),
    ({"seq_lens": (512, 1024), "kv_seq": 4096}, "--kv-seq 4096: .* with --kv-seq-lens"),
    ({"kv_seq_lens": (512, 1024)}, "--kv-seq-lens: give the query length of every sequence with --seq"),
    ({"seq": 1, "kv_seq_lens": (1024, 1000), "page_size": 256, "kernel": "fa2"},
     "--page-size 256 does not divide K/V length 1000 \\(sequence 2 of --kv-seq-lens\\)"),
    ({"seq_lens": (1024, 1000), "page_size": 256, "kernel": "fa2"},
     "--page-size 256 does not divide K/V length 1000 \\(sequence 2 of --seq-lens\\)"),
    ({"seq_lens": (512, 1024), "block_mask": "mask.npy"}, "--block-mask: a block mask is not costed over a variable"),
    ({"seq": 1, "kv_seq_lens": (512, 1024), "cascade": "attention-sliding-window"},
     "--kv-seq-lens: sequence 1 has query length 1 and K/V length 512; the sliding-window mask"),
    ({"heads": 64, "seq_lens": (700_000, 700_000)}, "HBM; shorten --seq-lens"),  # each alone would fit
    ({"seq": 1024}, "--batch is required on gpu targets"),  # without a var-length batch, as before
    ({"batch": 2}, "--seq is required on gpu targets"),
])
def test_bad_varlen_options_are_one_line_errors(kw, match):
    with pytest.raises(SimulatorError, match=match) as err:
        evaluate(EvaluateRequest(**{**BASE, **kw}))
    assert "\n" not in str(err.value)


def test_a_window_with_equal_lengths_is_accepted():
    got = _evaluate(seq_lens=(1024, 4096), cascade="attention-sliding-window", window=512)
    assert got["shape"]["window"] == 512 and got["shape"]["seq_lens"] == [1024, 4096]


@pytest.mark.parametrize(("target", "kind"), [("fusemax", "spatial"), ("zcu102", "fpga")])
def test_other_kinds_refuse_the_lengths_by_name(target, kind):
    for field in ("seq_lens", "kv_seq_lens"):
        with pytest.raises(SimulatorError, match=f"not used by {kind} targets") as err:
            evaluate(EvaluateRequest(target=target, workload="bert-base", seq=1024, **{field: (512, 1024)}))
        assert err.value.source == "--" + field.replace("_", "-")


def test_cli_json_of_a_varlen_batch(capsys):
    args = ["evaluate", "--target", "h100", "--heads", "16", "--head-dim", "128", "--causal", "--json"]
    assert main(args + ["--seq-lens", "512,2048,8192"]) == 0
    mixed = json.loads(capsys.readouterr().out)
    assert mixed["shape"]["seq_lens"] == [512, 2048, 8192] and mixed["shape"]["seq"] == 8192
    assert main(args + ["--batch", "3", "--seq", "8192"]) == 0
    padded = json.loads(capsys.readouterr().out)
    assert set(mixed) == set(padded) and mixed["latency_s"] < padded["latency_s"]


@pytest.mark.parametrize("text", ["512,,1024", "512,x", "0,512", "-4", ""])
def test_cli_refuses_a_bad_length_list(capsys, text):
    args = ["evaluate", "--target", "h100", "--heads", "16", "--head-dim", "128", "--seq-lens", text, "--json"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --seq-lens") and "comma-separated positive integers" in err and err.count("\n") == 1


def test_a_mixed_launch_without_a_mask_costs_no_more_than_its_sequences_apart():
    """Without a mask a mixed launch is costed by the greedy dispatch over its CTAs' costs: one launch of four
    lengths is not slower than four launches (the wave rule on the CTA count made it 0.94 ms against 0.92 ms)."""
    gpu = load_target("h100")
    lens = np.array([512, 2048, 8192, 1024])
    one = predict(gpu, Shapes.of(1, 16, 16, lens, lens), causal=False, one_launch=True, **ARGS)
    apart = predict(gpu, Shapes.of(1, 16, 16, lens, lens), causal=False, **ARGS)
    assert one.latency_s[0] < apart.latency_s.sum()
    assert one.latency_s[0] > apart.latency_s.max()
