"""Two study folders of the same budget, data and test examples, configuration by configuration: each LLM
configuration of the candidate paired against the reference per test example on NDCG@10 over their common seeds,
with the study's own bootstrap and seed t-test. Baselines (trained the same way in both) are left out. With
`--reference-configuration NAME`, every other LLM configuration of the candidate is paired against the reference's
NAME instead (the same folder may be both: configurations of one study against one of them).

    python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu \
        --candidate benchmarks/results/study_cpu_every_item --labels last every_item \
        --output benchmarks/results/supervision_comparison_cpu.json
    python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu_every_item \
        --candidate benchmarks/results/study_cpu_fast --labels former fast \
        --output benchmarks/results/fast_path_comparison_cpu.json
    python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu_item_ids \
        --candidate benchmarks/results/study_cpu_item_ids --reference-configuration hatllm --labels titles ids \
        --output benchmarks/results/item_ids_comparison_cpu.json
"""

import argparse
from pathlib import Path

from environment import command_line, environment, public_path, write_result

from iamrec.study.summary import compare_with, load_results, mean_std


def compare(
    reference_dir: Path,
    candidate_dir: Path,
    labels: tuple[str, str],
    resamples: int,
    reference_configuration: str | None = None,
) -> dict:
    """For each LLM configuration in both folders (or, with `reference_configuration`, each other one of the
    candidate): test NDCG@10 of each, and the candidate paired against the reference."""
    reference_label, candidate_label = labels
    reference, candidate = load_results(reference_dir), load_results(candidate_dir)
    if reference_configuration is not None and reference_configuration not in reference:
        raise SystemExit(f"{reference_dir} holds no {reference_configuration} runs")
    if reference_configuration is None:
        names = set(reference) & set(candidate)
    else:
        names = set(candidate) - {reference_configuration}
    comparisons = {}
    for name in sorted(names):
        if candidate[name][next(iter(candidate[name]))].get("item_mask_modes") is None:
            continue  # a baseline
        pair = {candidate_label: candidate[name], reference_label: reference[reference_configuration or name]}
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
    parser.add_argument("--reference-configuration", help="pair every candidate configuration against this one")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    labels = tuple(args.labels)
    comparisons = compare(args.reference, args.candidate, labels, args.resamples, args.reference_configuration)
    write_result(
        {
            "environment": environment(),
            "command": command_line(),
            "studies": {labels[0]: public_path(args.reference), labels[1]: public_path(args.candidate)},
            "labels": {"reference": labels[0], "candidate": labels[1]},
            "reference_configuration": args.reference_configuration,
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
