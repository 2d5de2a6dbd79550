"""The study's summary: mean and std over seeds, and paired bootstraps on per-example NDCG@10 against a reference."""

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_json_atomic
from ..data.cold_start import COLD_AMONG_COLD, COLD_SPLIT
from ..folders import STUDY_RESULTS_DIR, STUDY_SUMMARY_JSON, STUDY_SUMMARY_MD
from .grid import REFERENCES, label
from .grid import configurations as all_configurations
from .results import read_result


def ndcg_per_example(ranks: Sequence[int], k: int = 10) -> np.ndarray:
    """1 / log2(rank + 1) when rank <= k, else 0 (as `metrics_from_ranks`)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)


def paired_bootstrap(
    values: Sequence[float], reference: Sequence[float], resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean of `values - reference` (paired by example), a percentile bootstrap CI over examples, and a two-sided
    bootstrap p-value for a zero mean difference: the share of resampled means at least as far from the observed
    mean as the observed mean is from 0, i.e. (1 + #{|m* - m| >= |m|}) / (resamples + 1)."""
    differences = np.asarray(values, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    if differences.ndim != 1 or len(differences) == 0:
        raise ValueError("Paired values must be two equally long, non-empty sequences.")
    n, observed = len(differences), float(differences.mean())
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, (1 << 22) // n)  # about 4M indices at a time
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        means[start : start + size] = differences[rng.integers(0, n, size=(size, n))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    p_value = (1 + int(np.sum(np.abs(means - observed) >= abs(observed)))) / (resamples + 1)
    return {
        "mean_difference": observed,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": min(1.0, p_value),
        "within_noise": bool(low <= 0.0 <= high),
        "num_examples": n,
        "resamples": resamples,
    }


def paired_t_test(differences: Sequence[float]) -> dict[str, float | None] | None:
    """Student's paired t-test of a zero mean over per-seed differences (None below 2 seeds): it covers seed noise,
    which the bootstrap over examples does not. The two-sided p is the t tail, integrated as
    2 * c * int_theta^(pi/2) cos^(df-1) with t = sqrt(df) * tan(theta), which needs no scipy."""
    differences = np.asarray(differences, dtype=np.float64)
    df = len(differences) - 1
    if df < 1:
        return None
    spread = differences.std(ddof=1)
    if spread == 0.0:
        return {"t": None, "df": df, "p_value": 0.0 if differences.mean() else 1.0}  # identical differences
    t = float(differences.mean() / (spread / math.sqrt(len(differences))))
    angles = np.linspace(math.atan(abs(t) / math.sqrt(df)), math.pi / 2, 20_001)
    constant = math.gamma((df + 1) / 2) / (math.sqrt(math.pi) * math.gamma(df / 2))
    heights = np.cos(angles) ** (df - 1)
    p_value = 2 * constant * float((heights[:-1] + heights[1:]).sum() / 2 * (angles[1] - angles[0]))  # trapezoids
    return {"t": t, "df": df, "p_value": min(1.0, p_value)}


def mean_std(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and sample standard deviation (n - 1; None for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else None}


SUMMARY_METRICS = (("test", "HR@10"), ("test", "NDCG@10"), ("test", "MRR"), ("validation", "NDCG@10"))
COLD_METRICS = tuple((split, metric) for split in (COLD_SPLIT, COLD_AMONG_COLD) for metric in ("HR@10", "NDCG@10"))
"""Summarised too, split by split, when every run of a configuration has them (data prepared with
`--cold_items_fraction`)."""


def split_ranks(record: dict[str, Any], split: str) -> list[int] | None:
    """The per-example ranks a result holds for `split` (None if it has none)."""
    return record.get("test_ranks") if split == "test" else record.get(split, {}).get("ranks")


def load_results(output_dir: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """Every complete result under `output_dir`, by configuration and seed."""
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted((Path(output_dir) / STUDY_RESULTS_DIR).glob("*/seed-*.json")):
        record = read_result(path)
        if record is not None:
            results.setdefault(record["configuration"], {})[record["seed"]] = record
    return results


def summarize(
    output_dir: str | os.PathLike, configurations: Sequence[str] | None = None, resamples: int = 10_000
) -> tuple[dict[str, Any], str]:
    """Builds `summary.json` and `summary.md` from the complete results in `output_dir` (all configurations found,
    `configurations` first in their order) and writes both atomically; returns them."""
    output_dir = Path(output_dir)
    results = load_results(output_dir)
    order = [name for name in (configurations or ()) if name in results]
    order += [name for name in all_configurations() if name in results and name not in order]
    rows = {}
    for name in order:
        runs = results[name]
        seeds = sorted(runs)
        cold = tuple((split, metric) for split, metric in COLD_METRICS if all(split in runs[seed] for seed in seeds))
        metrics = SUMMARY_METRICS + cold
        rows[name] = {
            "label": label(name),
            "seeds": seeds,
            "stopped_early": [seed for seed in seeds if runs[seed]["training"].get("stopped_early")],
            **{
                f"{split}_{metric}": mean_std([runs[seed][split]["metrics"][metric] for seed in seeds])
                for split, metric in metrics
            },
        }
    references, comparisons = {}, {}
    for split, candidates in REFERENCES.items():
        reference = next((name for name in candidates if name in results), None)
        if reference is not None:
            references[split] = reference
            comparisons[split] = compare_with(results, order, reference, split, resamples)
    budgets = sorted({run["budget"] for runs in results.values() for run in runs.values()})
    threads = sorted({run["torch_threads"] for runs in results.values() for run in runs.values()})
    summary = {
        "budgets": budgets,
        "torch_threads": threads,  # floating-point sums, hence results, depend on it: keep `parallel` fixed
        "references": references,
        "metric_of_comparison": "per-example NDCG@10, averaged over the common seeds",
        "resamples": resamples,
        "configurations": rows,
        "comparisons": comparisons,
    }
    markdown = format_markdown(summary)
    write_json_atomic(output_dir / STUDY_SUMMARY_JSON, summary)
    temporary = output_dir / f".{STUDY_SUMMARY_MD}.tmp-{os.getpid()}"
    temporary.write_text(markdown)
    os.replace(temporary, output_dir / STUDY_SUMMARY_MD)
    return summary, markdown


def compare_with(
    results: dict[str, dict[int, dict[str, Any]]], order: Sequence[str], reference: str, split: str, resamples: int
) -> dict[str, dict[str, Any]]:
    """A paired bootstrap of every configuration with ranks on `split` against `reference`, over their common seeds."""
    comparisons = {}
    for name in order:
        common = sorted(
            seed
            for seed in set(results[name]) & set(results[reference])
            if split_ranks(results[name][seed], split) is not None
            and split_ranks(results[reference][seed], split) is not None
        )
        if name == reference or not common:
            continue
        digests = {runs[seed][split]["targets"] for runs in (results[name], results[reference]) for seed in common}
        if len(digests) != 1:
            raise ValueError(
                f"{name} and {reference} were tested on different {split} examples; they cannot be paired."
            )
        ours = np.array([ndcg_per_example(split_ranks(results[name][seed], split)) for seed in common])
        theirs = np.array([ndcg_per_example(split_ranks(results[reference][seed], split)) for seed in common])
        comparisons[name] = {
            "seeds": common,
            # The bootstrap below resamples examples only; these show whether the sign holds seed by seed.
            "per_seed_differences": (ours.mean(axis=1) - theirs.mean(axis=1)).tolist(),
            "seed_t_test": paired_t_test(ours.mean(axis=1) - theirs.mean(axis=1)),
            **paired_bootstrap(ours.mean(axis=0), theirs.mean(axis=0), resamples=resamples),
        }
    return comparisons


def format_markdown(summary: dict[str, Any]) -> str:
    def cell(value: dict[str, float | None]) -> str:
        return f"{value['mean']:.4f}" + (f" ± {value['std']:.4f}" if value["std"] is not None else "")

    if not summary["configurations"]:
        return "No finished runs yet.\n"
    rows = summary["configurations"]
    metrics = SUMMARY_METRICS + tuple(
        metric for metric in COLD_METRICS if any("_".join(metric) in row for row in rows.values())
    )
    headers = " | ".join(f"{'val' if split == 'validation' else split} {metric}" for split, metric in metrics)
    lines = [
        f"Budget: {', '.join(summary['budgets'])}; torch threads per run: "
        f"{', '.join(map(str, summary['torch_threads']))}"
        + (" (mixed: results of one seed differ between thread counts)" if len(summary["torch_threads"]) > 1 else "")
        + ". Mean ± sample std over seeds.",
        "",
        f"| configuration | paper | seeds | {headers} | stopped early |",
        "|---|---|---|" + "---|" * len(metrics) + "---|",
    ]
    for name, row in rows.items():
        cells = " | ".join(
            cell(row[f"{split}_{metric}"]) if f"{split}_{metric}" in row else "-" for split, metric in metrics
        )
        seeds = ",".join(map(str, row["seeds"]))
        stopped = ",".join(map(str, row["stopped_early"])) or "-"
        lines.append(f"| {name} | {row['label']} | {seeds} | {cells} | {stopped} |")
    for split, comparisons in summary["comparisons"].items():
        if not comparisons:
            continue
        lines += [
            "",
            f"Paired against `{summary['references'][split]}` on {split} ({summary['metric_of_comparison']}); 95% "
            f"bootstrap CI over examples ({summary['resamples']:,} resamples, seed 0), two-sided bootstrap p. The "
            "bootstrap covers example noise, not seed noise: the last columns give the difference seed by seed and a "
            "paired t-test over seeds (two-sided).",
            "",
            "| configuration | seeds | examples | mean diff | 95% CI | p | verdict | diff per seed | seed t-test p |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, test in comparisons.items():
            verdict = "within noise" if test["within_noise"] else ("better" if test["mean_difference"] > 0 else "worse")
            lines.append(
                f"| {name} | {','.join(map(str, test['seeds']))} | {test['num_examples']} | "
                f"{test['mean_difference']:+.4f} | [{test['ci_low']:+.4f}, {test['ci_high']:+.4f}] | "
                f"{test['p_value']:.4f} | {verdict} | "
                + ", ".join(f"{difference:+.4f}" for difference in test["per_seed_differences"])
                + f" | {'-' if test['seed_t_test'] is None else format(test['seed_t_test']['p_value'], '.4f')} |"
            )
    return "\n".join(lines) + "\n"
