"""The search's live progress: every batch of costed group mappings reaches the callback of `search_progress`, with
the counters and the best whole mapping so far, which ends as the result's latency."""

from types import SimpleNamespace

import pytest

from mappers.search import BATCH, search_progress
from simulator.commands.search_progress import describe
from simulator.evaluate import EvaluateRequest, evaluate_record


def test_progress_sees_every_costed_mapping_and_the_best_so_far():
    seen = []
    with search_progress(lambda s: seen.append((s.costed, s.incumbent, s.segments_total))):
        found = evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1024, search=True, budget=150))
    costed = list(dict.fromkeys(c for c, _, _ in seen))  # a new best is announced too, at the same count
    # called after each batch the model costs (at most BATCH candidates), up to the final count
    assert costed == sorted(costed) and costed[-1] == found["search"]["mappings_costed"]
    assert all(0 < b - a <= BATCH for a, b in zip([0, *costed], costed, strict=False))
    incumbents = [i for _, i, _ in seen if i is not None]
    assert incumbents and all(b <= a for a, b in zip(incumbents, incumbents[1:], strict=False))
    assert min(incumbents) >= found["latency_s"] * (1 - 1e-12)
    assert seen[-1][2] >= 1
    with search_progress(lambda s: seen.append("after")):
        pass
    evaluate_record(EvaluateRequest(target="fusemax", workload="BERT", seq=1024, search=True, budget=5))
    assert "after" not in seen  # outside the block nothing is called


@pytest.mark.parametrize("incumbent, says", [(None, "no whole mapping yet"), (1.5e-3, "best latency 0.0015 s")])
def test_the_line_says_the_counters_and_the_best(incumbent, says):
    stats = SimpleNamespace(costed=200, elapsed_s=lambda: 2.0, segments_searched=3, segments_total=10,
                            segments_pruned=4, incumbent=incumbent)
    line = describe(stats, "latency")
    assert "200 mappings (100/s)" in line and "segments 3/10 (4 pruned)" in line and says in line
