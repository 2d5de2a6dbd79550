"""LLM runs against SASRec on the same test examples: each run of the given study folders paired per test example
(NDCG@10) with SASRec's mean over its seeds, from a study folder that holds SASRec runs. The bootstrap covers example
noise only; with one LLM seed, seed noise is not covered (the cpu study's LLM seeds vary by about 0.001).

    python benchmarks/compare_to_sasrec.py --sasrec benchmarks/results/study_cpu \
        --runs benchmarks/results/gpu_every_item_h200/full_model benchmarks/results/gpu_every_item_h200/converge \
        --output benchmarks/results/gpu_every_item_h200/against_sasrec.json

Writes --output.
"""

import argparse
from pathlib import Path

import numpy as np
from environment import command_line, environment, public_path, write_result

from iamrec.study.summary import (
    load_results,
    mean_std,
    ndcg_per_example,
    paired_bootstrap,
    paired_t_test,
    split_ranks,
)

REFERENCE = "sasrec"


def compare(sasrec_dir: Path, run_dirs: list[Path], resamples: int) -> dict:
    """{"<folder>/<configuration>/seed-<N>": test NDCG@10 and its paired bootstrap against SASRec's seed mean}."""
    sasrec = load_results(sasrec_dir).get(REFERENCE)
    if not sasrec:
        raise SystemExit(f"{sasrec_dir} holds no {REFERENCE} runs")
    digests = {run["test"]["targets"] for run in sasrec.values()}
    reference = np.mean([ndcg_per_example(split_ranks(run, "test")) for run in sasrec.values()], axis=0)
    comparisons, seed_means = {}, {}
    for folder in run_dirs:
        for configuration, seeds in load_results(folder).items():
            if len(seeds) > 1:  # the configuration over its seeds: example noise and seed noise
                seed_means[f"{folder.name}/{configuration}"] = over_seeds(seeds, sasrec, reference, resamples)
            for seed, run in seeds.items():
                if run["test"]["targets"] not in digests:
                    raise SystemExit(f"{folder}/{configuration}/seed-{seed} was tested on other examples than SASRec")
                ours = ndcg_per_example(split_ranks(run, "test"))
                comparisons[f"{folder.name}/{configuration}/seed-{seed}"] = {
                    "test_NDCG@10": float(ours.mean()),
                    "device": run["device"],
                    "training": {key: run["training"].get(key) for key in ("global_step", "best_step", "stop_reason")},
                    **paired_bootstrap(ours, reference, resamples=resamples),
                }
    return {
        "sasrec": {
            "folder": public_path(sasrec_dir),
            "seeds": sorted(sasrec),
            "test_NDCG@10": mean_std([run["test"]["metrics"]["NDCG@10"] for run in sasrec.values()]),
        },
        "runs": comparisons,
        "seed_means": seed_means,
    }


def over_seeds(seeds: dict, sasrec: dict, reference: np.ndarray, resamples: int) -> dict:
    """A configuration's per-example NDCG@10 averaged over its seeds against SASRec's, and a paired t-test over the
    seeds both have (each LLM seed against the SASRec seed of the same number)."""
    ours = np.mean([ndcg_per_example(split_ranks(run, "test")) for run in seeds.values()], axis=0)
    common = sorted(set(seeds) & set(sasrec))
    differences = [
        seeds[seed]["test"]["metrics"]["NDCG@10"] - sasrec[seed]["test"]["metrics"]["NDCG@10"] for seed in common
    ]
    return {
        "seeds": sorted(seeds),
        "test_NDCG@10": mean_std([run["test"]["metrics"]["NDCG@10"] for run in seeds.values()]),
        "per_seed_differences": differences,
        "seed_t_test": paired_t_test(differences),
        **paired_bootstrap(ours, reference, resamples=resamples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sasrec", type=Path, required=True, help="a study folder with SASRec runs")
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="study folders of LLM runs")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    comparison = compare(args.sasrec, args.runs, args.resamples)
    result = {"environment": environment(), "command": command_line(), **comparison}
    write_result(result, args.output)
    for name, run in result["runs"].items():
        print(name, round(run["test_NDCG@10"], 4), round(run["mean_difference"], 4), run["p_value"])
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
