"""Two study folders of the same budget, data and test examples, configuration by configuration: each LLM
configuration of the candidate paired against the reference per test example on NDCG@10 over their common seeds,
with the study's own bootstrap and seed t-test. Baselines (trained the same way in both) are left out.

    python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu \
        --candidate benchmarks/results/study_cpu_every_item --labels last every_item \
        --output benchmarks/results/supervision_comparison_cpu.json
    python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu_every_item \
        --candidate benchmarks/results/study_cpu_fast --labels former fast \
        --output benchmarks/results/fast_path_comparison_cpu.json
"""

import argparse
from pathlib import Path

from environment import command_line, environment, public_path, write_result

from iamrec.study.summary import compare_with, load_results, mean_std


def compare(reference_dir: Path, candidate_dir: Path, labels: tuple[str, str], resamples: int) -> dict:
    """For each LLM configuration in both folders: test NDCG@10 of each, and the candidate paired against the
    reference."""
    reference_label, candidate_label = labels
    reference, candidate = load_results(reference_dir), load_results(candidate_dir)
    comparisons = {}
    for name in sorted(set(reference) & set(candidate)):
        if candidate[name][next(iter(candidate[name]))].get("item_mask_modes") is None:
            continue  # a baseline
        pair = {candidate_label: candidate[name], reference_label: reference[name]}
        result = compare_with(pair, [candidate_label], reference_label, "test", resamples)[candidate_label]
        means = {  # over the seeds both folders have, which the comparison pairs
            f"test_NDCG@10_{label}": mean_std([runs[seed]["test"]["metrics"]["NDCG@10"] for seed in result["seeds"]])
            for label, runs in pair.items()
        }
        comparisons[name] = {**means, **result}
    return comparisons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, required=True, help="the study folder compared against")
    parser.add_argument("--candidate", type=Path, required=True, help="the study folder compared")
    parser.add_argument("--labels", nargs=2, required=True, metavar=("REFERENCE", "CANDIDATE"))
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    labels = tuple(args.labels)
    comparisons = compare(args.reference, args.candidate, labels, args.resamples)
    write_result(
        {
            "environment": environment(),
            "command": command_line(),
            "studies": {labels[0]: public_path(args.reference), labels[1]: public_path(args.candidate)},
            "labels": {"reference": labels[0], "candidate": labels[1]},
            "metric": f"per-example test NDCG@10, {labels[1]} minus {labels[0]}, averaged over the common seeds",
            "comparisons": comparisons,
        },
        args.output,
    )
    for name, result in comparisons.items():
        print(name, {key: value for key, value in result.items() if key not in ("seeds",)})
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
