import math

import pytest
import torch
from datasets import Dataset

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation
from iamrec.baselines import MostPopular, Random
from iamrec.evaluation import (
    EvaluationPolicy,
    ModelScorer,
    RankingAccumulator,
    evaluate_scorer,
    rank_targets,
    target_ranks,
)

NUM_ITEMS = 20
TRAIN = [  # targets: 3 x2, 1 x2, 0 x1, 2 x1; histories add 5 x3
    {"history": [5, 5], "target": 3},
    {"history": [5], "target": 1},
    {"history": [], "target": 3},
    {"history": [4], "target": 2},
    {"history": [], "target": 1},
    {"history": [], "target": 0},
]


def popularity_order(scorer: MostPopular) -> list[int]:
    return scorer.score([{}])[0].argsort(descending=True, stable=True).tolist()


def test_most_popular_ranks_training_targets_with_stable_tie_break():
    scorer = MostPopular(num_items=6).fit(TRAIN)
    assert scorer.counts.tolist() == [1, 2, 1, 2, 0, 0]
    # 1 and 3 tie at two, 0 and 2 at one, 4 and 5 at zero: lower item id first.
    assert popularity_order(scorer) == [1, 3, 0, 2, 4, 5]
    # Scores are distinct, so even pessimistic ties give these exact ranks.
    assert target_ranks(scorer.score([{}] * 6), [1, 3, 0, 2, 4, 5]).tolist() == [1, 2, 3, 4, 5, 6]


def test_most_popular_tie_break_holds_on_a_large_catalog():
    # Long runs of equal counts: an unstable sort scrambles them here.
    train = [{"history": [], "target": item} for item in range(0, 5000, 7)]
    order = popularity_order(MostPopular(num_items=5000).fit(train))
    assert order == list(range(0, 5000, 7)) + [item for item in range(5000) if item % 7]


def test_most_popular_can_count_histories():
    scorer = MostPopular(num_items=6, count="targets+histories").fit(Dataset.from_list(TRAIN))
    assert scorer.counts.tolist() == [1, 2, 1, 2, 1, 3]
    assert popularity_order(scorer) == [5, 1, 3, 0, 2, 4]
    assert scorer.name == "MostPopular(count=targets+histories)"


def test_most_popular_errors():
    with pytest.raises(ValueError, match="fit on the training split"):
        MostPopular(num_items=6).score([{}])
    with pytest.raises(ValueError, match="Unknown popularity count"):
        MostPopular(num_items=6, count="users")
    with pytest.raises(ValueError, match="training example of row 0 holds item id 5, outside the catalog"):
        MostPopular(num_items=4, count="targets+histories").fit(TRAIN)
    with pytest.raises(ValueError, match="training example of row 3 holds item id 6, outside the catalog"):
        MostPopular(num_items=6).fit([*TRAIN[:3], {"history": [], "target": 6}])
    # Counting targets only, the out-of-catalog history item 5 is never read.
    assert MostPopular(num_items=4).fit(TRAIN).counts.tolist() == [1, 2, 1, 2]


def test_random_is_deterministic_per_seed_and_batch_size():
    first = Random(NUM_ITEMS, seed=7).score([{}] * 6)
    same = Random(NUM_ITEMS, seed=7)
    assert torch.equal(first, torch.cat([same.score([{}] * 2), same.score([{}] * 4)]))
    assert not torch.equal(first, Random(NUM_ITEMS, seed=8).score([{}] * 6))
    assert first.shape == (6, NUM_ITEMS)
    assert first.unique().numel() == first.numel()  # no ties in practice


def test_evaluate_scorer_on_most_popular_by_hand():
    scorer = MostPopular(num_items=6).fit(TRAIN)  # order 1, 3, 0, 2, 4, 5
    test = Dataset.from_list(
        [
            {"user": 0, "history": [1], "target": 3, "timestamp": 0},  # rank 2; 1 if history excluded
            {"user": 1, "history": [0], "target": 5, "timestamp": 0},  # rank 6; 5 if history excluded
            {"user": 2, "history": [1, 3], "target": 1, "timestamp": 0},  # rank 1; target kept in exclusion
        ]
    )
    result = evaluate_scorer(scorer, test, num_items=6, batch_size=2, ks=(1, 5), split="test", show_progress=False)
    assert result == {
        "metrics": {
            "HR@1": 1 / 3,
            "HR@5": 2 / 3,
            "NDCG@1": 1 / 3,
            "NDCG@5": pytest.approx((1 + 1 / math.log2(3)) / 3),
            "MRR": pytest.approx((1 / 2 + 1 / 6 + 1) / 3),
        },
        "policy": {"exclude_history": False, "ties": "pessimistic"},
        "split": "test",
        "num_examples": 3,
        "num_items": 6,
        "scorer": "MostPopular(count=targets)",
    }
    assert rank_targets(scorer, test, 6, EvaluationPolicy(), batch_size=2).tolist() == [2, 6, 1]  # in dataset order
    excluded = evaluate_scorer(
        scorer, test, num_items=6, policy=EvaluationPolicy(exclude_history=True), ks=(1, 5), show_progress=False
    )
    assert excluded["policy"] == {"exclude_history": True, "ties": "pessimistic"}
    assert excluded["metrics"]["HR@1"] == 2 / 3
    assert excluded["metrics"]["MRR"] == pytest.approx((1 + 1 / 5 + 1) / 3)


def test_evaluate_scorer_random_baseline_is_reproducible():
    test = Dataset.from_dict({"history": [[1, 2]] * 30, "target": list(range(NUM_ITEMS)) + list(range(10))})
    first = evaluate_scorer(Random(NUM_ITEMS, seed=0), test, NUM_ITEMS, batch_size=4, show_progress=False)
    again = evaluate_scorer(Random(NUM_ITEMS, seed=0), test, NUM_ITEMS, batch_size=7, show_progress=False)
    assert first == again
    assert first["scorer"] == "Random(seed=0)"
    assert first["split"] is None


def test_evaluate_scorer_streams_an_iterable_dataset():
    test = Dataset.from_dict({"history": [[1, 2]] * 30, "target": list(range(NUM_ITEMS)) + list(range(10))})
    expected = evaluate_scorer(Random(NUM_ITEMS, seed=0), test, NUM_ITEMS, show_progress=False)
    streamed = evaluate_scorer(Random(NUM_ITEMS, seed=0), test.to_iterable_dataset(), NUM_ITEMS, batch_size=8)
    assert streamed == expected


def test_evaluate_scorer_bad_inputs():
    test = Dataset.from_dict({"history": [[1]], "item": [3]})
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['target'\]"):
        evaluate_scorer(Random(NUM_ITEMS), test, NUM_ITEMS, show_progress=False)
    test = Dataset.from_dict({"history": [[1]], "target": [3]})
    with pytest.raises(ValueError, match="20 columns but the catalog has 30"):
        evaluate_scorer(Random(NUM_ITEMS), test, 30, show_progress=False)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        evaluate_scorer(Random(NUM_ITEMS), test, NUM_ITEMS, batch_size=0)


# A stand-in for the real collator: BOS, then each history item as two tokens separated by a prompt token.
BOS, SEPARATOR, PAD = 1, 2, 0


def fake_collator(examples: list[dict]) -> dict[str, torch.Tensor]:
    rows, slots = [], []
    for example in examples:
        tokens, item_index = [BOS], [-1]
        for slot, item in enumerate(example["history"]):
            tokens += [3 + item, 23 + item, SEPARATOR]
            item_index += [slot, slot, -1]
        rows.append(tokens)
        slots.append(item_index)
    length = max(map(len, rows))
    pad = [length - len(tokens) for tokens in rows]  # left padding
    return {
        "input_ids": torch.tensor([[PAD] * p + tokens for p, tokens in zip(pad, rows)]),
        "attention_mask": torch.tensor([[0] * p + [1] * len(tokens) for p, tokens in zip(pad, rows)]),
        "item_index": torch.tensor([[-1] * p + index for p, index in zip(pad, slots)]),
        "labels": torch.tensor([example["target"] for example in examples]),
    }


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    config = IAMRecConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_items=NUM_ITEMS,
        item_mask_modes=["intra", "inter_last"],
        attention_dropout=0.5,  # dropout must be off in evaluation: scores would differ otherwise
    )
    return IAMRecForSequentialRecommendation(config)


@pytest.fixture(scope="module")
def tiny_split():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 5, (11,), generator=generator).tolist()
    return Dataset.from_dict(
        {
            "user": list(range(11)),
            "history": [torch.randint(0, NUM_ITEMS, (n,), generator=generator).tolist() for n in lengths],
            "target": torch.randint(0, NUM_ITEMS, (11,), generator=generator).tolist(),
            "timestamp": list(range(11)),
        }
    )


def test_model_scorer_runs_the_model_in_eval_mode_without_labels(tiny_model, tiny_split):
    calls = []
    record = lambda module, args, kwargs: calls.append(set(kwargs))  # noqa: E731
    hook = tiny_model.register_forward_pre_hook(record, with_kwargs=True)
    examples = tiny_split.select(range(4)).to_list()
    tiny_model.train()
    try:
        scores = ModelScorer(tiny_model, fake_collator).score(examples)
    finally:
        hook.remove()
    assert calls == [{"input_ids", "attention_mask", "item_index"}]
    assert not tiny_model.training
    assert not scores.requires_grad
    assert scores.shape == (4, NUM_ITEMS)
    batch = fake_collator(examples)
    del batch["labels"]
    with torch.no_grad():
        expected = tiny_model(**batch).logits
    torch.testing.assert_close(scores, expected)


def test_evaluate_scorer_with_model_matches_direct_logits(tiny_model, tiny_split):
    result = evaluate_scorer(
        ModelScorer(tiny_model, fake_collator, device="cpu"), tiny_split, NUM_ITEMS, batch_size=4, split="validation"
    )
    tiny_model.eval()
    batch = fake_collator(tiny_split.to_list())
    with torch.no_grad():
        logits = tiny_model(**{key: value for key, value in batch.items() if key != "labels"}).logits
    accumulator = RankingAccumulator()
    accumulator.update(logits, batch["labels"])
    expected = accumulator.compute()
    assert result["num_examples"] == expected.pop("num_examples") == 11
    assert result["metrics"] == pytest.approx(expected)
    assert result["scorer"] == "IAMRecForSequentialRecommendation"
    assert result["split"] == "validation"


def test_a_candidate_scorer_ranks_the_target_among_the_candidates_only():
    from iamrec.evaluation import CandidateScorer

    scores = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.8], [0.2, 0.7, 0.6, 0.1, 0.0]])
    among = CandidateScorer(lambda examples: scores, candidates=[1, 3, 4], num_items=5)
    restricted = among([{}, {}])
    assert restricted[:, [0, 2]].isneginf().all() and torch.equal(restricted[:, [1, 3, 4]], scores[:, [1, 3, 4]])
    # Item 3 is 4th of 5 in row 0 but 2nd of the candidates (after item 4); item 1 is 1st of them in row 1.
    assert target_ranks(scores, [3, 1]).tolist() == [4, 1]
    assert target_ranks(restricted, [3, 1]).tolist() == [2, 1]
