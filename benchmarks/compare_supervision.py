"""Every-item training against one prompt per target, configuration by configuration: two study folders of the same
budget, data and test examples (`iamrec study --supervision last` and `--supervision every_item`), paired per test
example on NDCG@10 over their common seeds, with the study's own bootstrap and seed t-test.

    python benchmarks/compare_supervision.py --last benchmarks/results/study_cpu \
        --every-item benchmarks/results/study_cpu_every_item

Writes benchmarks/results/supervision_comparison_cpu.json (or --output).
"""

import argparse
from pathlib import Path

from environment import RESULTS, command_line, environment, public_path, write_result

from iamrec.study.summary import compare_with, load_results, mean_std


def compare(last_dir: Path, every_item_dir: Path, resamples: int) -> dict:
    """For each LLM configuration in both folders: test NDCG@10 of each, and every_item paired against last."""
    last, every_item = load_results(last_dir), load_results(every_item_dir)
    comparisons = {}
    for name in sorted(set(last) & set(every_item)):
        if every_item[name][next(iter(every_item[name]))].get("supervision") != "every_item":
            continue  # a baseline: trained the same way in both folders
        pair = {"every_item": every_item[name], "last": last[name]}
        result = compare_with(pair, ["every_item"], "last", "test", resamples)["every_item"]
        means = {  # over the seeds both folders have, which the comparison pairs
            f"test_NDCG@10_{kind}": mean_std([runs[seed]["test"]["metrics"]["NDCG@10"] for seed in result["seeds"]])
            for kind, runs in pair.items()
        }
        comparisons[name] = {**means, **result}
    return comparisons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--last", type=Path, required=True, help="a study folder trained with --supervision last")
    parser.add_argument("--every-item", type=Path, required=True, help="the same study with --supervision every_item")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=RESULTS / "supervision_comparison_cpu.json")
    args = parser.parse_args()
    comparisons = compare(args.last, args.every_item, args.resamples)
    write_result(
        {
            "environment": environment(),
            "command": command_line(),
            "studies": {"last": public_path(args.last), "every_item": public_path(args.every_item)},
            "metric": "per-example test NDCG@10, every_item minus last, averaged over the common seeds",
            "comparisons": comparisons,
        },
        args.output,
    )
    for name, result in comparisons.items():
        print(name, {key: value for key, value in result.items() if key not in ("seeds",)})
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
