"""Do titles carry signal for cold items, and what does promoting new items cost the trained ones?

Each model (one trained title-head model per seed) scores the cold items as new ones (`reset_items`: zero
correction), so only its title term orders them. A cold item's bias then decides where it stands against the trained
items; `add_items(..., bias=...)` sets it. For each bias (`BIAS_LEVELS`): the default (the mean trained-item bias),
one predicted per item from its title or from its history mentions, quantiles of the trained items' biases, and
"first" (above every trained item, i.e. ranking among the cold items alone), this reports:
- test_cold NDCG@10 with the cold items ordered by their titles, and with their title terms shuffled per example
  (the same exposure without the title information), paired per example (bootstrap, averaged over seeds) and per
  seed (t-test): the title's own contribution;
- test NDCG@10 (warm targets): what promoting every cold item costs.
Random's test_cold NDCG@10 is in the study summary; any bias that puts cold items above the trained ones beats it on
test_cold alone, which is why the shuffled order at equal bias is the reference here.

    iamrec study --data-dir D --output-dir O --grid hatllm_title_only --seeds 0 1 2 --budget cpu --keep_models
    python benchmarks/cold_title_signal.py --data-dir D --model-dirs O/work/hatllm_title_only/seed-*/model
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).parent))
from environment import command_line, environment, public_path, write_result  # noqa: E402

from iamrec import Recommender, load_prepared
from iamrec.evaluation import ModelScorer, target_ranks
from iamrec.evaluation.runner import iter_example_batches
from iamrec.study.summary import mean_std, ndcg_per_example, paired_bootstrap, paired_t_test

BIAS_LEVELS = ("mean", "from_title", "from_mentions", 0.5, 0.9, 0.99, 1.0, "first")
"""Cold-item biases: the default (mean trained-item bias); one per cold item predicted by a ridge regression fitted
on the trained items, from the mean title embedding ("from_title") or from log(1 + mentions in training histories)
("from_mentions", a popularity fallback calibrated to the bias); quantiles of the trained items' biases (1.0: the most
popular trained item's); and "first" (above every trained score, so cold items are ranked among themselves)."""

RIDGE_PENALTIES = (0.1, 1.0, 10.0, 100.0, 1000.0)
"""Ridge penalties tried; the one with the best 5-fold cross-validated correlation on the trained items is used."""


def split_scores(scorer: ModelScorer, examples, batch_size: int) -> tuple[torch.Tensor, list[int]]:
    """Every catalog item's score for each example, and the targets."""
    scores, targets = [], []
    batches = tqdm(iter_example_batches(examples, batch_size), total=math.ceil(len(examples) / batch_size), leave=False)
    for batch in batches:
        scores.append(scorer(batch).float())
        targets += [example["target"] for example in batch]
    return torch.cat(scores), targets


def ridge_bias(features: torch.Tensor, bias: torch.Tensor, warm: torch.Tensor, seed: int) -> tuple[torch.Tensor, dict]:
    """Every item's bias predicted from `features` by ridge regression on the trained (warm) items, with the penalty
    of best 5-fold cross-validated correlation; returns the predictions and that correlation."""
    x = features.double()
    x = (x - x[warm].mean(0)) / (x[warm].std(0) + 1e-8)
    y = bias.double()

    def fit(rows: torch.Tensor, penalty: float) -> torch.Tensor:
        a = x[rows]
        weights = torch.linalg.solve(
            a.T @ a + penalty * torch.eye(a.shape[1], dtype=a.dtype), a.T @ (y[rows] - y[rows].mean())
        )
        return x @ weights + y[rows].mean()

    warm_rows = warm.nonzero().flatten()
    folds = warm_rows[torch.randperm(len(warm_rows), generator=torch.Generator().manual_seed(seed))].chunk(5)
    correlations = {}
    for penalty in RIDGE_PENALTIES:
        predicted = torch.empty_like(y)
        for fold in folds:
            rows = warm_rows[~torch.isin(warm_rows, fold)]
            predicted[fold] = fit(rows, penalty)[fold]
        correlations[penalty] = torch.corrcoef(torch.stack([predicted[warm_rows], y[warm_rows]]))[0, 1].item()
    penalty = max(correlations, key=correlations.get)
    return fit(warm_rows, penalty).float(), {"penalty": penalty, "cross_validated_correlation": correlations[penalty]}


def content_similarity_gains(title_embeddings: torch.Tensor, examples, cold: list[int]) -> np.ndarray:
    """Per-example NDCG@10 of each cold target among the cold items, ordered by a non-learned content score: the
    cosine between the item's centred mean title embedding and the mean of its history items' (a title kNN). It shows
    whether the titles hold signal that the trained title term does not use."""
    embeddings = torch.nn.functional.normalize(title_embeddings.float() - title_embeddings.float().mean(0), dim=1)
    queries = torch.stack([embeddings[example["history"]].mean(0) for example in examples])
    position = {item: slot for slot, item in enumerate(cold)}
    targets = [position[example["target"]] for example in examples]
    return ndcg_per_example(target_ranks(queries @ embeddings[cold].T, targets))


def cold_bias(level: str | float, warm_bias: torch.Tensor, scores: list[torch.Tensor], warm: torch.Tensor) -> float:
    """The bias a cold item gets at `level` (a quantile, "mean" or "first"), given every split's scores with cold
    biases at 0."""
    if level == "mean":
        return warm_bias.mean().item()
    if level == "first":
        return max(split[:, warm].max().item() - split[:, ~warm].min().item() for split in scores) + 1.0
    return torch.quantile(warm_bias, level).item()


def model_gains(model_dir: str, data, cold: list[int], mentions: torch.Tensor, batch_size: int, seed: int) -> dict:
    """Per-example NDCG@10 at each bias level: on test, and on test_cold with titles and with shuffled title terms
    (shuffling cold items among themselves cannot move a warm target's rank, so test needs no shuffled twin).
    `mentions` counts each item in the training histories."""
    recommender = Recommender.from_pretrained(model_dir, device="cpu")
    model = recommender.model
    scorer = ModelScorer(model, recommender.processor.collator())
    head = model.rec_head
    head.reset_items(cold, bias=0.0)  # cold scores are then their title terms alone
    warm = torch.ones(len(head.item_bias), dtype=torch.bool)
    warm[cold] = False
    warm_bias = head.item_bias.detach()[warm]
    with torch.no_grad():
        title_embeddings = torch.cat(list(model.item_titles.mean_embeddings(model.embed_tokens.weight)))
    fitted = {
        "from_title": ridge_bias(title_embeddings, head.item_bias.detach(), warm, seed),
        "from_mentions": ridge_bias(torch.log1p(mentions.double())[:, None], head.item_bias.detach(), warm, seed),
    }
    test_scores, test_targets = split_scores(scorer, data.splits["test"], batch_size)
    cold_scores, cold_targets = split_scores(scorer, data.splits["test_cold"], batch_size)
    generator = torch.Generator().manual_seed(seed)
    shuffled_columns = torch.stack([torch.randperm(len(cold), generator=generator) for _ in cold_targets])
    cold_columns = torch.tensor(cold)
    gains = {}
    for level in BIAS_LEVELS:
        if level in fitted:
            bias = fitted[level][0][cold_columns]
        else:
            bias = cold_bias(level, warm_bias, [test_scores, cold_scores], warm)
        test, titled = test_scores.clone(), cold_scores.clone()
        test[:, cold_columns] += bias
        titled[:, cold_columns] += bias
        shuffled = titled.clone()
        shuffled[:, cold_columns] = torch.gather(titled[:, cold_columns], 1, shuffled_columns)
        gains[str(level)] = {
            "bias": float(torch.as_tensor(bias).mean()),
            "test": ndcg_per_example(target_ranks(test, test_targets)),
            "test_cold": {
                "titles": ndcg_per_example(target_ranks(titled, cold_targets)),
                "shuffled": ndcg_per_example(target_ranks(shuffled, cold_targets)),
            },
        }
    title_terms = cold_scores[:, cold_columns]
    spread = {
        "title_term_std_over_cold_items": title_terms.std(dim=1).mean().item(),
        "bias_std_over_trained_items": warm_bias.std().item(),
        "bias_range_over_trained_items": (warm_bias.max() - warm_bias.min()).item(),
    }
    spread |= {f"{name}_fit": fit for name, (_, fit) in fitted.items()}
    content = content_similarity_gains(title_embeddings, data.splits["test_cold"], cold)
    return {"gains": gains, "spread": spread, "content_similarity": content}


def summarize(per_model: list[dict], num_cold_items: int) -> dict:
    """Mean ± std over models of each NDCG@10, the title order against the shuffled one on test_cold, and the
    content-similarity order among the cold items against a random order's expected NDCG@10."""
    levels = {}
    for level in map(str, BIAS_LEVELS):
        entries = [model["gains"][level] for model in per_model]
        row = {"bias": mean_std([entry["bias"] for entry in entries])}
        row["test_NDCG@10"] = mean_std([entry["test"].mean() for entry in entries])
        for order in ("titles", "shuffled"):
            row[f"test_cold_NDCG@10_{order}"] = mean_std([entry["test_cold"][order].mean() for entry in entries])
        titles = np.mean([entry["test_cold"]["titles"] for entry in entries], axis=0)
        shuffled = np.mean([entry["test_cold"]["shuffled"] for entry in entries], axis=0)
        row["test_cold_titles_vs_shuffled"] = paired_bootstrap(titles, shuffled)
        row["test_cold_titles_vs_shuffled_per_seed"] = [
            float(entry["test_cold"]["titles"].mean() - entry["test_cold"]["shuffled"].mean()) for entry in entries
        ]
        row["test_cold_titles_vs_shuffled_seed_t_test"] = paired_t_test(row["test_cold_titles_vs_shuffled_per_seed"])
        levels[level] = row
    spreads = {
        name: [model["spread"][name] for model in per_model]
        if name.endswith("_fit")
        else mean_std([model["spread"][name] for model in per_model])
        for name in per_model[0]["spread"]
    }
    content = np.mean([model["content_similarity"] for model in per_model], axis=0)
    random_order = sum(1 / math.log2(rank + 1) for rank in range(1, 11)) / num_cold_items  # expected NDCG@10
    among_cold = {
        "NDCG@10": mean_std([model["content_similarity"].mean() for model in per_model]),
        "random_order_NDCG@10": random_order,
        "vs_random_order": paired_bootstrap(content, np.full(len(content), random_order)),
    }
    return {"levels": levels, "spread": spreads, "content_similarity_among_cold_items": among_cold}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="prepared with --cold_items_fraction")
    parser.add_argument("--model-dirs", nargs="+", required=True, help="trained title-head models, one per seed")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shuffle-seed", type=int, default=0, help="seeds the shuffled title terms")
    parser.add_argument("--max-examples", type=int, default=None, help="the first N of each split (a quick check)")
    parser.add_argument("--output", default="benchmarks/results/cold_title_signal.json")
    args = parser.parse_args(argv)
    data = load_prepared(args.data_dir)
    if args.max_examples is not None:
        data.splits = {
            name: split.select(range(min(args.max_examples, len(split)))) for name, split in data.splits.items()
        }
    cold = sorted(data.protocol["cold_items"])
    histories = data.splits["train"]["history"]
    mentions = torch.bincount(
        torch.tensor([item for history in histories for item in history]), minlength=len(data.titles)
    )
    per_model = [
        model_gains(model_dir, data, cold, mentions, args.batch_size, args.shuffle_seed)
        for model_dir in tqdm(args.model_dirs, desc="models")
    ]
    result = {
        "environment": environment(),
        "command": command_line(),
        "models": [public_path(model_dir) for model_dir in args.model_dirs],
        "cold_items": len(cold),
        "examples": {split: len(data.splits[split]) for split in ("test", "test_cold")},
        "bias_levels": list(BIAS_LEVELS),
        **summarize(per_model, len(cold)),
    }
    write_result(result, args.output)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
