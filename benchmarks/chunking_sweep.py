"""Which chunking trains best at a fixed budget: the sweep of `benchmarks/gpu_every_item.sh` (one folder per chunking
and seed, each with the test split's `test.json` and the run's `iamrec_run.json`), summarised per chunking with
mean ± std over seeds and each chunking paired seed by seed against the default (a paired t-test over seeds).

    python benchmarks/chunking_sweep.py --sweep-dir benchmarks/results/gpu_every_item_h200/chunking_sweep \
        --environment-from benchmarks/results/gpu_every_item_h200/supervision_throughput.json

Writes <sweep-dir>.json (or --output).
"""

import argparse
import json
import re
from pathlib import Path

from environment import command_line, environment, write_result

from iamrec.study.summary import mean_std, paired_t_test

RUN_NAME = re.compile(r"chunk(\d+)_context(\d+)_seed(\d+)")
METRICS = ("NDCG@10", "HR@10")


def read_runs(sweep_dir: Path) -> dict[str, dict[int, dict]]:
    """{"CHUNK:CONTEXT": {seed: run}}, each run its test metrics, training steps and best validation NDCG@10."""
    runs: dict[str, dict[int, dict]] = {}
    for folder in sorted(path for path in sweep_dir.iterdir() if path.is_dir()):
        match = RUN_NAME.fullmatch(folder.name)
        if match is None:
            raise ValueError(f"{folder} is not named chunk<N>_context<N>_seed<N>")
        test = json.loads((folder / "test.json").read_text())
        run = json.loads((folder / "iamrec_run.json").read_text())
        model = next(name for name in test["results"] if name.startswith("IAMRec"))
        runs.setdefault(f"{match[1]}:{match[2]}", {})[int(match[3])] = {
            "test": {metric: test["results"][model][metric] for metric in METRICS},
            "test_examples": test["num_examples"],
            "steps": run["global_step"],
            "best_validation_NDCG@10": run["best_metric"]["NDCG@10"],
        }
    return runs


def summarize(runs: dict[str, dict[int, dict]], reference: str) -> dict[str, dict]:
    """Per chunking: mean ± std of each test metric, and NDCG@10 paired with `reference` over their common seeds."""
    summary = {}
    for chunking, seeds in runs.items():
        entry = {
            "seeds": sorted(seeds),
            "steps": sorted({run["steps"] for run in seeds.values()}),
            **{f"test_{metric}": mean_std([run["test"][metric] for run in seeds.values()]) for metric in METRICS},
        }
        common = sorted(set(seeds) & set(runs[reference]))
        if chunking != reference and common:
            differences = [seeds[seed]["test"]["NDCG@10"] - runs[reference][seed]["test"]["NDCG@10"] for seed in common]
            entry[f"vs_{reference}"] = {
                "seeds": common,
                "per_seed_differences": differences,
                "seed_t_test": paired_t_test(differences),
            }
        summary[chunking] = entry
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep-dir", type=Path, required=True)
    parser.add_argument("--reference", default="20:10", help="the chunking every other is paired with")
    parser.add_argument(
        "--environment-from", type=Path, help="a result file of the machine the sweep ran on (default: this one)"
    )
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    runs = read_runs(args.sweep_dir)
    if args.reference not in runs:
        parser.error(f"no run of the reference chunking {args.reference}; found {sorted(runs)}")
    ran_on = json.loads(args.environment_from.read_text())["environment"] if args.environment_from else environment()
    output = args.output or args.sweep_dir.with_suffix(".json")
    result = {
        "environment": ran_on,
        "command": command_line(),
        "reference": args.reference,
        "summary": summarize(runs, args.reference),
        "runs": {chunking: {str(seed): run for seed, run in seeds.items()} for chunking, seeds in runs.items()},
    }
    write_result(result, output)
    for chunking, entry in result["summary"].items():
        print(chunking, entry["test_NDCG@10"], entry.get(f"vs_{args.reference}", {}).get("seed_t_test"))
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
