"""Do titles carry signal for cold items? Ranks each cold test target among the cold items only, where the item bias
is the same for all of them (`reset_items` gives each the mean), so only the title term orders them, against a
uniform random order of the same items. Also compares the spread of the title term with that of the bias over the
whole catalog: a cold item at the mean bias reaches a top 10 only if its title term makes up the bias gap.

    iamrec study --data-dir D --output-dir O --grid hatllm_title_only --seeds 0 --budget cpu --keep_models
    python benchmarks/cold_title_signal.py --data-dir D --model-dir O/work/hatllm_title_only/seed-0/model
"""

import argparse
import json
import math
from pathlib import Path

import torch

from iamrec.data import load_prepared
from iamrec.evaluation import metrics_from_ranks, target_ranks
from iamrec.evaluation.runner import iter_example_batches
from iamrec.inference import Recommender
from iamrec.study import paired_bootstrap


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="prepared with --cold_items_fraction")
    parser.add_argument("--model-dir", required=True, help="a trained title-head model (rec_head_type text)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", default="benchmarks/results/cold_title_signal.json")
    args = parser.parse_args(argv)
    data = load_prepared(args.data_dir)
    cold = sorted(data.protocol["cold_items"])
    recommender = Recommender.from_pretrained(args.model_dir, device="cpu")
    model, collator = recommender.model, recommender.processor.collator()
    head = model.rec_head
    head.reset_items(cold)  # what the study does: cold items scored as new ones
    position = {item: slot for slot, item in enumerate(cold)}
    examples = data.splits["test_cold"]
    cold_ranks, all_ranks, title_spread = [], [], []
    with torch.no_grad():
        for batch_examples in iter_example_batches(examples, args.batch_size):
            scores = model(**collator([{"history": example["history"]} for example in batch_examples])).logits
            targets = [example["target"] for example in batch_examples]
            all_ranks += target_ranks(scores, targets).tolist()
            cold_ranks += target_ranks(scores[:, cold], [position[target] for target in targets]).tolist()
            title_spread += (scores - head.item_bias).std(dim=1).tolist()  # the title term, per example
    random_ndcg = sum(1 / math.log2(rank + 1) for rank in range(1, 11)) / len(cold)
    gains = [1 / math.log2(rank + 1) if rank <= 10 else 0.0 for rank in cold_ranks]
    result = {
        "model": Path(args.model_dir).name,
        "cold_items": len(cold),
        "test_cold_examples": len(examples),
        "among_cold_items": metrics_from_ranks(cold_ranks),
        "among_cold_items_random_expected": {"HR@10": 10 / len(cold), "NDCG@10": random_ndcg},
        "among_cold_items_NDCG@10_vs_random": paired_bootstrap(gains, [random_ndcg] * len(gains)),
        "among_all_items": metrics_from_ranks(all_ranks),
        "median_rank_among_all": sorted(all_ranks)[len(all_ranks) // 2],
        "title_term_std_over_items_mean": sum(title_spread) / len(title_spread),
        "bias_std_over_items": head.item_bias.std().item(),
        "bias_range_over_items": (head.item_bias.max() - head.item_bias.min()).item(),
    }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
