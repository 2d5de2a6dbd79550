import math

import evaluate
import numpy as np
import pytest
import torch

import iamrec
from iamrec.evaluation import EvaluationPolicy, RankingAccumulator, metrics_from_ranks, target_ranks

NUM_ITEMS = 20


def scores_with_target_ranks(ranks: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct scores in a shuffled item order per row, and targets sitting at the given ranks."""
    generator = torch.Generator().manual_seed(seed)
    scores = torch.empty(len(ranks), NUM_ITEMS)
    targets = torch.empty(len(ranks), dtype=torch.long)
    for row, rank in enumerate(ranks):
        order = torch.randperm(NUM_ITEMS, generator=generator)  # order[j] is the item at rank j + 1
        scores[row, order] = torch.linspace(1.0, -1.0, NUM_ITEMS)
        targets[row] = order[rank - 1]
    return scores, targets


def test_hand_computed_metrics():
    scores, targets = scores_with_target_ranks([1, 3, 7, 12])
    assert target_ranks(scores, targets).tolist() == [1, 3, 7, 12]
    accumulator = RankingAccumulator()
    accumulator.update(scores, targets)
    result = accumulator.compute()
    expected = {
        "HR@5": 2 / 4,
        "HR@10": 3 / 4,
        "NDCG@5": (1 / math.log2(2) + 1 / math.log2(4)) / 4,
        "NDCG@10": (1 / math.log2(2) + 1 / math.log2(4) + 1 / math.log2(8)) / 4,
        "MRR": (1 / 1 + 1 / 3 + 1 / 7 + 1 / 12) / 4,  # full MRR: rank 12 still counts
    }
    assert result.keys() == {*expected, "num_examples"}
    assert result["num_examples"] == 4
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=1e-12), name


def test_custom_ks():
    result = metrics_from_ranks([1, 3, 7, 12], ks=(12, 1, 3))
    assert list(result) == ["HR@1", "HR@3", "HR@12", "NDCG@1", "NDCG@3", "NDCG@12", "MRR"]
    assert result["HR@1"] == 1 / 4
    assert result["HR@12"] == 1.0
    assert result["NDCG@3"] == pytest.approx((1 + 1 / math.log2(4)) / 4)


def test_constant_scorer_pessimistic_vs_optimistic():
    scores, targets = torch.zeros(5, NUM_ITEMS), torch.tensor([0, 3, 7, 12, 19])
    pessimistic = metrics_from_ranks(target_ranks(scores, targets, EvaluationPolicy(ties="pessimistic")))
    optimistic = metrics_from_ranks(target_ranks(scores, targets, EvaluationPolicy(ties="optimistic")))
    assert target_ranks(scores, targets).tolist() == [NUM_ITEMS] * 5  # pessimistic is the default
    assert pessimistic == {"HR@5": 0, "HR@10": 0, "NDCG@5": 0, "NDCG@10": 0, "MRR": 1 / NUM_ITEMS}
    assert optimistic == {"HR@5": 1, "HR@10": 1, "NDCG@5": 1, "NDCG@10": 1, "MRR": 1}


def test_partial_ties():
    scores = torch.tensor([[3.0, 5.0, 5.0, 5.0, 1.0, 6.0]])
    assert target_ranks(scores, [1], EvaluationPolicy(ties="pessimistic")).tolist() == [4]
    assert target_ranks(scores, [1], EvaluationPolicy(ties="optimistic")).tolist() == [2]
    assert target_ranks(scores, [4], EvaluationPolicy(ties="pessimistic")).tolist() == [6]


def test_history_exclusion():
    scores = torch.arange(10, 0, -1, dtype=torch.float)[None]  # item i has rank i + 1
    exclude = EvaluationPolicy(exclude_history=True)
    assert target_ranks(scores, [6]).tolist() == [7]
    # Items 0 and 2 outrank the target and go; 9 ranks below it; the target 6 itself stays in the ranking.
    assert target_ranks(scores, [6], exclude, histories=[[0, 2, 6, 9]]).tolist() == [5]
    assert target_ranks(scores, [6], exclude, histories=torch.tensor([[0, 2, 6, 9, -1]])).tolist() == [5]
    # A history holding only the target changes nothing: the target is never removed.
    assert target_ranks(scores, [6], exclude, histories=[[6]]).tolist() == [7]
    assert target_ranks(scores, [6], exclude, histories=[[]]).tolist() == [7]
    # Without the policy, histories are ignored.
    assert target_ranks(scores, [6], EvaluationPolicy(), histories=[[0, 2]]).tolist() == [7]


def test_history_exclusion_removes_tied_items_too():
    scores = torch.zeros(2, 5)
    exclude = EvaluationPolicy(exclude_history=True)
    assert target_ranks(scores, [0, 4], exclude, histories=[[1, 2], [0, 4]]).tolist() == [3, 4]


def test_history_errors():
    scores = torch.zeros(2, 5)
    exclude = EvaluationPolicy(exclude_history=True)
    with pytest.raises(ValueError, match="no histories"):
        target_ranks(scores, [0, 1], exclude)
    with pytest.raises(ValueError, match="2 rows"):
        target_ranks(scores, [0, 1], exclude, histories=[[1]])
    with pytest.raises(ValueError, match="row 1 holds item id 5"):
        target_ranks(scores, [0, 1], exclude, histories=[[1], [2, 5]])


def test_streaming_equals_one_batch():
    generator = torch.Generator().manual_seed(1)
    scores = torch.randn(37, 50, generator=generator).round(decimals=1)  # coarse scores: many ties
    targets = torch.randint(0, 50, (37,), generator=generator)
    histories = [torch.randint(0, 50, (int(n),), generator=generator).tolist() for n in torch.randint(0, 6, (37,))]
    for policy in (EvaluationPolicy(), EvaluationPolicy(exclude_history=True, ties="optimistic")):
        whole, streamed = RankingAccumulator(policy=policy), RankingAccumulator(policy=policy)
        whole.update(scores, targets, histories)
        for start in range(0, 37, 10):
            end = start + 10
            streamed.update(scores[start:end], targets[start:end], histories[start:end])
        assert streamed.compute() == whole.compute()
        assert torch.equal(streamed.ranks, whole.ranks)


def test_ranks_match_a_sort_based_reference():
    generator = torch.Generator().manual_seed(2)
    scores = torch.randn(16, 30, generator=generator)
    targets = torch.randint(0, 30, (16,), generator=generator)
    order = scores.argsort(dim=1, descending=True)
    expected = (order == targets[:, None]).nonzero()[:, 1] + 1
    assert torch.equal(target_ranks(scores, targets), expected)
    assert torch.equal(target_ranks(scores, targets, EvaluationPolicy(ties="optimistic")), expected)


def test_nan_scores_raise():
    scores = torch.zeros(3, 5)
    scores[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"NaN in rows \[1\]"):
        target_ranks(scores, [0, 0, 0])


def test_infinite_scores_are_ranked():
    scores = torch.tensor([[float("inf"), 0.0, float("-inf")]])
    assert target_ranks(scores, [2]).tolist() == [3]
    assert target_ranks(scores, [0]).tolist() == [1]


@pytest.mark.parametrize(
    "scores, targets, message",
    [
        (torch.zeros(5), [0], "batch_size, num_items"),
        (torch.zeros(2, 3, 4), [0, 0], "batch_size, num_items"),
        (torch.zeros(2, 5), [0], r"shape \(2,\)"),
        (torch.zeros(2, 5), [[0, 1]], r"shape \(2,\)"),
        (torch.zeros(2, 5), [0.0, 1.0], "integer item ids"),
        (torch.zeros(2, 5), [0, 5], "target of row 1 holds item id 5, outside"),
        (torch.zeros(2, 5), [-1, 0], "target of row 0 holds item id -1, outside"),
    ],
)
def test_bad_inputs_raise(scores, targets, message):
    with pytest.raises(ValueError, match=message):
        target_ranks(scores, targets)


def test_accumulator_checks_catalog_size_and_emptiness():
    accumulator = RankingAccumulator(num_items=5)
    with pytest.raises(ValueError, match="No examples"):
        accumulator.compute()
    with pytest.raises(ValueError, match="6 columns but the catalog has 5"):
        accumulator.update(torch.zeros(1, 6), [0])
    accumulator = RankingAccumulator()
    accumulator.update(torch.zeros(1, 5), [0])
    with pytest.raises(ValueError, match="4 columns but the catalog has 5"):
        accumulator.update(torch.zeros(1, 4), [0])


@pytest.mark.parametrize("ks", [(), (0, 5), (5.0,), (True,)])
def test_bad_ks_raise(ks):
    with pytest.raises(ValueError, match="positive integers"):
        RankingAccumulator(ks=ks)


def test_policy_validation_and_record():
    with pytest.raises(ValueError, match="Unknown tie policy 'random'"):
        EvaluationPolicy(ties="random")
    assert EvaluationPolicy().to_dict() == {"exclude_history": False, "ties": "pessimistic"}
    with pytest.raises(AttributeError):
        EvaluationPolicy().ties = "optimistic"


def test_evaluate_module_matches_accumulator():
    generator = torch.Generator().manual_seed(3)
    scores = torch.randn(25, 40, generator=generator).round(decimals=1)
    targets = torch.randint(0, 40, (25,), generator=generator)
    histories = [torch.randint(0, 40, (3,), generator=generator).tolist() for _ in range(25)]
    for policy in (EvaluationPolicy(), EvaluationPolicy(exclude_history=True, ties="optimistic")):
        accumulator = RankingAccumulator(policy=policy)
        accumulator.update(scores, targets, histories)
        metric = iamrec.ranking_metric(ks=(5, 10), policy=policy)
        assert isinstance(metric, evaluate.EvaluationModule)
        for start in range(0, 25, 8):
            metric.add_batch(
                predictions=scores[start : start + 8].numpy(),  # any array type works
                references=targets[start : start + 8],
                histories=histories[start : start + 8],
            )
        result = metric.compute()
        assert result == {**accumulator.compute(), "policy": policy.to_dict()}
        # compute() with inputs gives the same numbers in one call.
        metric = iamrec.ranking_metric(policy=policy)
        again = metric.compute(predictions=scores, references=targets, histories=histories)
        assert again == result


def test_evaluate_module_add_single_examples():
    scores, targets = scores_with_target_ranks([1, 3, 7, 12])
    metric = iamrec.ranking_metric()
    for row in range(4):
        metric.add(prediction=scores[row].tolist(), reference=int(targets[row]))
    assert metric.compute()["MRR"] == pytest.approx((1 / 1 + 1 / 3 + 1 / 7 + 1 / 12) / 4)


def test_evaluate_module_stores_ranks_not_scores():
    num_items, batch_size = 10_000, 8
    metric = iamrec.ranking_metric()
    scores, targets = torch.randn(batch_size, num_items), torch.arange(batch_size)
    for _ in range(3):
        metric.add_batch(predictions=scores, references=targets)
    assert len(metric) == 3 * batch_size
    assert metric.selected_feature_format["predictions"].dtype == "int64"
    # One rank and one target id per example (plus Arrow framing), against 320 KB of scores per batch.
    assert metric.buf_writer.tell() < 4096
    metric._finalize()
    assert np.array_equal(metric.data["predictions"][:], np.tile(target_ranks(scores, targets).numpy(), 3))


def test_evaluate_module_needs_both_inputs():
    with pytest.raises(ValueError, match="both predictions"):
        iamrec.ranking_metric().add_batch(predictions=torch.zeros(1, 3))
