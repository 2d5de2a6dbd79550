"""The layouts of the result files of benchmarks/results/: each declared as an `EntryTable` or `LabelTable`
(`report_layout.py`), or, where a table takes more than picking and formatting fields, a function.

`report.py` lists which layout renders which result. Numbers are printed as recorded (rounded for reading), never
computed from anything but the file.
"""

from collections import ChainMap
from collections.abc import Callable, Mapping
from pathlib import Path

from report_layout import EntryTable, LabelTable, fill, mean_std, read, table

METRICS = ("HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR")
CI = "[{ci_low:+.4f}, {ci_high:+.4f}]"
"""The 95% interval of a paired bootstrap."""


def verdict(better: str, worse: str) -> Callable[[Mapping], str]:
    """A paired bootstrap's verdict cell: within noise, or which side (a template) is better."""

    def cell(row: Mapping) -> str:
        return "within noise" if row["within_noise"] else fill(better if row["mean_difference"] > 0 else worse, row)

    return cell


# The demo and the quality study

DEMO = EntryTable(
    {"scorer": "{key}", **{name: f"{{{name}:.4f}}" for name in METRICS}},
    rows="evaluation.results",
    notes=(
        "Test split: {evaluation[num_examples]:,} examples ranked against all {evaluation[num_items]:,} items. "
        "Validation NDCG@10 by step: {curve}.",
    ),
    computed={"curve": lambda report: ", ".join(f"step {s}: {v:.4f}" for s, v in report["validation_curve"])},
)
"""`iamrec demo`'s report: the test table, then the validation curve."""

COMPARISONS = EntryTable(
    {
        "configuration": "`{key}`",
        "seeds": "{seeds:each}",
        "mean difference": "{mean_difference:+.4f}",
        "95% CI": CI,
        "p": "{p_value:.4f}",
        "verdict": verdict("better", "worse"),
        "per seed": "{per_seed_differences:each+.4f}",
        "seed t-test p": ("{seed_t_test[p_value]:?.3f}", "-"),
    }
)
"""The paired comparisons of a study summary, one row per configuration."""


def study(folder: Path) -> list[str]:
    """`iamrec study`'s summary: mean ± std over seeds per configuration, then each paired comparison."""
    summary = read(folder / "summary.json")
    configurations = summary["configurations"]
    metrics = sorted(
        dict.fromkeys(k for c in configurations.values() for k, v in c.items() if _is_mean_std(v)),
        key=_metric_order,
    )
    rows = []
    for name, configuration in configurations.items():
        per_seed = [_seed_metric(folder, name, seed, "test", "NDCG@10") for seed in configuration["seeds"]]
        rows.append(
            [
                f"`{name}`: {configuration['label']}",
                ", ".join(map(str, configuration["seeds"])),
                ", ".join("" if value is None else f"{value:.4f}" for value in per_seed),
                *(mean_std(configuration[m]) if m in configuration else "" for m in metrics),
            ]
        )
    lines = table(["configuration", "seeds", "test NDCG@10 per seed", *(m.replace("_", " ") for m in metrics)], rows)
    for split, comparisons in (item for item in summary["comparisons"].items() if item[1]):
        reference = summary["references"][split]
        lines += ["", f"Paired against `{reference}` on `{split}` (NDCG@10 per example, averaged over seeds):", ""]
        lines += COMPARISONS.lines(comparisons)
    return lines


def study_comparisons(folder: Path) -> list[str]:
    """Only the paired comparisons of a study summary (its configurations are shown elsewhere)."""
    summary = read(folder / "summary.json")
    lines = []
    for split, comparisons in summary["comparisons"].items():
        reference = summary["references"][split]
        lines += [f"Paired against `{reference}` on `{split}`:", "", *COMPARISONS.lines(comparisons), ""]
    return lines[:-1]


def headline(studies: list[Path], demo_report: Path | None) -> list[str]:
    """One row per scorer: the demo's model when its report exists, then every study configuration."""
    rows = []
    if demo_report is not None and demo_report.is_file():
        metrics = next(iter(read(demo_report)["evaluation"]["results"].values()))
        rows.append(["IAMRec: HatLLM schedule, `iamrec demo`", "`demo_cpu`", 1, *_cells(metrics, None)])
    for folder in studies:
        for name, c in read(folder / "summary.json")["configurations"].items():
            values = {m: c.get(f"test_{m}") for m in ("NDCG@10", "HR@10", "MRR")}
            rows.append([f"`{name}`: {c['label']}", f"`{folder.name}`", len(c["seeds"]), *_cells(None, values)])
    return table(["scorer", "results", "seeds", "test NDCG@10", "test HR@10", "test MRR"], rows)


SASREC = EntryTable(
    {
        "loss": lambda record: record["config"]["supervision"].replace("_", " "),
        "seeds": lambda record: len(record["seeds"]),
        "test NDCG@10": "{summary[test_NDCG@10]:±}",
        "test HR@10": "{summary[test_HR@10]:±}",
        "test MRR": "{summary[test_MRR]:±}",
        "validation NDCG@10": "{summary[validation_NDCG@10]:±}",
        "best epoch": "{summary[best_epoch][mean]:.0f} ± {summary[best_epoch][std]:.0f}",
        "s/epoch": "{summary[seconds_per_epoch][mean]:.0f}",
    },
    rows=None,
)
"""SASRec trained to early stopping per seed (`benchmarks/sasrec_ml100k.py`), one row per file (per loss)."""

RECBOLE = EntryTable(
    {
        "dataset": "{dataset}",
        "model": "RecBole {key}",
        "seeds": lambda run: len(run["seeds"]),
        "test NDCG@10": "{summary[test_NDCG@10]:±}",
        "test HR@10": "{summary[test_HR@10]:±}",
        "test MRR": "{summary[test_MRR]:±}",
        "validation NDCG@10": "{summary[validation_NDCG@10]:±}",
        "best epoch": "{summary[best_epoch][mean]:.0f}",
        "s/epoch": "{summary[seconds_per_epoch][mean]:.0f}",
    },
    rows="runs",
)
"""RecBole's own models on our examples (`benchmarks/recbole_models.py`), one row per file and model."""

EVALUATION_BASELINES = EntryTable(
    {
        "scorer": "{scorer}",
        "split": "{split}",
        "history items": lambda run: "excluded" if run["policy"]["exclude_history"] else "kept",
        "examples": "{num_examples:,}",
        "NDCG@10": "{metrics[NDCG@10]:.4f}",
        "HR@10": "{metrics[HR@10]:.4f}",
        "MRR": "{metrics[MRR]:.4f}",
    },
    rows="ml100k_baselines.runs",
)
"""`benchmarks/bench_evaluation.py`: the baselines' metrics under each evaluation policy."""


def labelled_ndcg(side: str) -> Callable[[Mapping], str]:
    """A cell: the study's test NDCG@10 on one side ("reference" or "candidate") of the comparison, by its label."""
    return lambda row: mean_std(row[f"test_NDCG@10_{row['labels'][side]}"])


STUDY_COMPARISON = EntryTable(
    {
        "configuration": "`{key}`",
        "seeds": "{seeds:each}",
        "test NDCG@10, {labels[reference]}": labelled_ndcg("reference"),
        "test NDCG@10, {labels[candidate]}": labelled_ndcg("candidate"),
        "difference": "{mean_difference:+.4f}",
        "95% CI": CI,
        "bootstrap p": "{p_value:.4f}",
        "difference per seed": "{per_seed_differences:each+.4f}",
        "seed t-test p": "{seed_t_test[p_value]:?.3f}",
        "verdict": verdict("{labels[candidate]} better", "{labels[reference]} better"),
    },
    rows="comparisons",
    computed={"labels": lambda report: report.get("labels", {"reference": "last", "candidate": "every_item"})},
)
"""`benchmarks/compare_studies.py`: a candidate study against a reference one per configuration, paired per test
example."""


def against_reference(template: str) -> Callable[[Mapping], str]:
    """A cell: `template` read in the row's pairing with the sweep's reference chunking (blank on the reference's own
    row, which has none)."""
    return lambda row: fill(template, row.get(f"vs_{row['reference']}") or {})


CHUNKING_SWEEP = EntryTable(
    {
        "CHUNK:CONTEXT": lambda row: f"`{row['key']}`" + (" (default)" if row["key"] == row["reference"] else ""),
        "seeds": "{seeds:each}",
        "steps": "{steps:each}",
        "test HR@10": "{test_HR@10:±}",
        "test NDCG@10": "{test_NDCG@10:±}",
        "vs {reference}, per seed": against_reference("{per_seed_differences:?each+.4f}"),
        "t-test p": against_reference("{seed_t_test[p_value]:?.3f}"),
    },
    rows="summary",
)
"""`benchmarks/chunking_sweep.py`: test metrics per chunking, each paired seed by seed with the reference."""

AGAINST_SASREC = EntryTable(
    {
        "run": "`{key}`",
        "device": "{device}",
        "steps (stop, best)": "{training[global_step]} ({training[stop_reason]}, best {training[best_step]})",
        "test NDCG@10": "{test_NDCG@10:.4f}",
        "vs SASRec": "{mean_difference:+.4f}",
        "95% CI": CI,
        "bootstrap p": "{p_value:.4f}",
        "verdict": verdict("LLM better", "SASRec better"),
    },
    rows="runs",
    notes=("SASRec: test NDCG@10 {sasrec[test_NDCG@10]:±} (seeds {sasrec[seeds]:each}).",),
)
"""`benchmarks/compare_to_sasrec.py`'s table: one row per LLM run."""

SEED_MEAN = (
    "`{key}` over seeds {seeds:each}: test NDCG@10 {test_NDCG@10:±}; its per-example NDCG@10 averaged over seeds "
    f"against SASRec's: {{mean_difference:+.4f}} {CI}, bootstrap p {{p_value:.4f}}; seed by seed against SASRec's "
    "seed of the same number: {per_seed_differences:each+.4f}"
)
"""A paragraph under that table: one LLM run's mean over its seeds against SASRec's."""


def against_sasrec(path: Path) -> list[str]:
    """`benchmarks/compare_to_sasrec.py`: each LLM run paired per test example with SASRec's mean over its seeds,
    then each run's mean over its seeds against SASRec's."""
    report = read(path)
    lines = AGAINST_SASREC.lines(report)
    for name, seed_mean in report.get("seed_means", {}).items():
        run = ChainMap({"key": name}, seed_mean)
        lines += ["", fill(SEED_MEAN, run) + fill(", paired t-test p {seed_t_test[p_value]:?.3f}", run) + "."]
    return lines


def study_runs(folder: Path) -> dict:
    """Every run of an `iamrec study` folder, by `folder/configuration/seed-N`."""
    runs = (read(path) for path in sorted(folder.glob("results/*/seed-*.json")))
    return {f"{folder.name}/{run['configuration']}/seed-{run['seed']}": run for run in runs}


def steps_and_epochs(run: Mapping) -> str:
    epochs = max((entry.get("epoch", 0.0) for entry in run["training"]["log_history"]), default=0.0)
    return f"{run['training']['global_step']} ({epochs:.1f} epochs)"


def validation_by_step(run: Mapping) -> str:
    evaluations = [entry for entry in run["training"]["log_history"] if "eval_NDCG@10" in entry]
    return ", ".join(f"{entry['step']}: {entry['eval_NDCG@10']:.4f}" for entry in evaluations)


VALIDATION_CURVES = EntryTable(
    {
        "run": "`{key}`",
        "device": "{device}",
        "steps": steps_and_epochs,
        "stop, best step": "{training[stop_reason]}, best {training[best_step]}",
        "validation NDCG@10 by step": validation_by_step,
        "test NDCG@10": "{test[metrics][NDCG@10]:.4f}",
    },
    read=study_runs,
)
"""Validation NDCG@10 at each evaluation of every run in `iamrec study` folders, with where and why it stopped."""


def records(path: Path) -> list[str]:
    """Any JSON: its top-level numbers and strings as a two-column table (a start for a new layout)."""
    data = read(path)
    rows = [[key, value] for key, value in data.items() if isinstance(value, (int, float, str)) and key != "command"]
    return table(["", path.stem], rows)


DID_NOT_RUN = ("`{key}`", "{error:until:} (did not run)")
"""The first cells of a variant that failed, in the speed benchmarks' tables."""

SUPERVISION_THROUGHPUT = EntryTable(
    {
        "format": "`{key}`",
        "step (s)": "{seconds_per_step:.3f}",
        "tokens/step": "{tokens_per_step:,.0f}",
        "targets/step": "{targets_per_step:,.0f}",
        "tokens per target (vs last)": "{tokens_per_target:.1f} ({tokens_per_target_vs_last:.2f}x)",
        "targets/s (vs last)": "{targets_per_second:,.1f} ({targets_per_second_vs_last:.2f}x)",
    },
    rows="results",
    failed=DID_NOT_RUN,
    notes=("{settings[layers]} layers, batch {settings[batch_size]}; {note}.",),
    computed={
        "settings": lambda report: {"layers": "?", "batch_size": "?", **report.get("settings", {})},
        "note": lambda report: report.get("note", ""),
    },
)
"""`benchmarks/supervision_throughput.py`: one row per training format, `last` first as the reference."""


def vs_reference(row: Mapping) -> str:
    """targets/s, and its ratio to the reference variant's (the file names the ratio after the reference)."""
    ratio = row[f"targets_per_second_vs_{row['reference']}"]
    return f"{row['targets_per_second']:,.1f} ({ratio:.2f}x)"


TRAINING_SPEED = EntryTable(
    {
        "variant": "`{key}`: {description}",
        "step (s)": "{seconds_per_step:.3f}",
        "tokens/step (real / padded)": "{tokens_per_step:,.0f} / {padded_tokens_per_step:,.0f}",
        "targets/s (vs `{reference}`)": vs_reference,
        "tokens/s": "{tokens_per_second:,.0f}",
        "step memory (MB)": "{step_memory_mb:?,.0f}",
        "warm-up (s)": "{warmup_seconds:.1f}",
        "{compute}": ("{mfu:?.1%}", "{tflops_per_second:?.3f}"),
    },
    rows="results",
    failed=DID_NOT_RUN,
    notes=("{note}.",),
    computed={
        "reference": lambda report: next(iter(report["results"])),
        "compute": lambda report: "MFU" if any("mfu" in r for r in report["results"].values()) else "TFLOP/s",
        "note": lambda report: report.get("note", ""),
    },
)
"""`benchmarks/training_speed.py`: one row per variant, the first as the reference of every ratio."""


# Attention and new items


def item_token_shares(model: dict, layer: int) -> str:
    return " / ".join(f"{model['item_tokens'][k][layer]:.3f}" for k in ("same_item", "other_items", "prompt"))


def final_token_shares(model: dict, layer: int) -> str:
    return " / ".join(f"{model['final_token'][k][layer]:.3f}" for k in ("items", "prompt"))


def attention_shares_by_model(path: Path) -> list[str]:
    """Per layer and model (in the order given to `analyze-attention`), where item tokens' attention goes and where
    the final token's goes."""
    report = read(path)
    models = report["models"]
    first = next(iter(models.values()))
    rows = [
        [f"{layer + 1} (`{mode}`)", f"`{name}`", item_token_shares(model, layer), final_token_shares(model, layer)]
        for layer, mode in enumerate(first["item_mask_modes"])
        for name, model in models.items()
    ]
    header = ["layer", "model", "item tokens: same item / other items / prompt", "final token: items / prompt"]
    return [*table(header, rows), "", f"The first `{report['split']}` example of each of {report['num_users']} users."]


def attention_shares(path: Path) -> list[str]:
    """Per layer, where item tokens' attention goes, with the model's masks and with every mask off."""
    report = read(path)
    masked, plain = list(report["models"].values())[:2]
    pair = plain["item_tokens_weight_per_pair"]
    rows = [
        [
            f"{layer + 1} (`{mode}`)",
            item_token_shares(masked, layer),
            item_token_shares(plain, layer),
            f"{pair['same_item'][layer]:.3f} / {pair['other_items'][layer]:.3f}",
            final_token_shares(masked, layer),
        ]
        for layer, mode in enumerate(masked["item_mask_modes"])
    ]
    header = [
        "layer",
        "masks on: same item / other items / prompt",
        "masks off: same item / other items / prompt",
        "per pair, masks off: same / other",
        "final token, masks on: items / prompt",
    ]
    return [*table(header, rows), "", f"The first `{report['split']}` example of each of {report['num_users']} users."]


BIAS_LEVELS = {
    "mean": "mean trained-item bias (the default)",
    "from_title": "predicted from the title (ridge)",
    "from_mentions": "predicted from history mentions (ridge)",
    "0.5": "median trained-item bias",
    "0.9": "90th percentile",
    "0.99": "99th percentile",
    "1.0": "the most popular trained item's",
    "first": "above every trained item",
}

COLD_TITLE_SIGNAL = EntryTable(
    {
        "cold items' bias": lambda level: BIAS_LEVELS.get(level["key"], level["key"]),
        "bias": "{bias[mean]:.2f}",
        "warm test NDCG@10": "{test_NDCG@10:±}",
        "cold NDCG@10, title order": "{test_cold_NDCG@10_titles:±}",
        "cold NDCG@10, shuffled": "{test_cold_NDCG@10_shuffled:±}",
        "titles - shuffled": "{test_cold_titles_vs_shuffled[mean_difference]:+.4f}",
        "95% CI": "[{test_cold_titles_vs_shuffled[ci_low]:+.4f}, {test_cold_titles_vs_shuffled[ci_high]:+.4f}]",
        "p": "{test_cold_titles_vs_shuffled[p_value]:.2f}",
        "seed t-test p": "{test_cold_titles_vs_shuffled_seed_t_test[p_value]:.2f}",
    },
    rows="levels",
    notes=(
        "{model_count} models (one per seed); {cold_items} cold items, {examples[test]:,} warm and "
        "{examples[test_cold]:,} cold test examples. A non-learned title kNN among the cold items: NDCG@10 "
        "{knn[NDCG@10][mean]:.4f} against {knn[random_order_NDCG@10]:.4f} for a random order "
        "({knn[vs_random_order][mean_difference]:+.4f}, 95% CI [{knn[vs_random_order][ci_low]:+.4f}, "
        "{knn[vs_random_order][ci_high]:+.4f}], p {knn[vs_random_order][p_value]:.4f}).",
    ),
    computed={
        "model_count": lambda report: len(report["models"]),
        "knn": lambda report: report["content_similarity_among_cold_items"],
    },
)
"""New items' bias against the warm cost, and the title order against a shuffled one at equal exposure."""

ADD_ITEMS_SPEED = EntryTable(
    {
        "new titles": "{new_items:,}",
        "seconds": "{seconds:.3f}",
        "items/s": "{items_per_second:,}",
        "catalog after": "{num_items_after:,}",
    },
    rows="results",
    notes=("Model: {model}.",),
)
"""`benchmarks/add_items_speed.py`: adding new titles to a trained model's catalog."""


# Speed and memory on CPU

ATTENTION_SCHEDULES = EntryTable(
    {
        "tokens": "{length}",
        "schedule": "`{schedule}`",
        "step (s)": "{step_s}",
        "time vs Llama": "{time_ratio:.3f}x",
        "peak MB": "{peak_mb}",
        "memory vs Llama": "{memory_ratio}x",
    },
    rows="rows",
    notes=("{layers} layers of SmolLM2-135M's shape, batch {batch_size}, one forward+backward, median of {repeats}.",),
    computed={"repeats": lambda report: report.get("repeats", "the repeats")},
)
"""`benchmarks/bench_attention.py`: each schedule's step time and peak memory against plain Llama's."""

MASKS = EntryTable(
    {
        "tokens": "{length:,}",
        "backend": "{backend}",
        "mode": "`{mode}`",
        "built from": lambda row: row["approach"].replace("_", " "),
        "build (s)": "{build_s:.3f}",
        "vs dense rule": "{time_ratio:.2f}x",
        "peak MiB": "{peak_mb:,.1f}",
    },
    rows="rows",
)
"""`benchmarks/bench_masks.py`: building one mask against a dense rule tensor, per length and backend."""

PREPARE = LabelTable(
    ("", "{benchmark}"),
    (
        ("reviews read", "{reviews:,} ({reviews_gz_mib} MiB gzip)"),
        ("prepare time", "{prepare_s} s"),
        ("interactions/s", "{interactions_per_s:,} ({interactions_per_s_with_startup:,} with start-up)"),
        ("peak resident memory", "{peak_rss_mib:,} MiB ({rss_after_import_mib} MiB after imports)"),
        ("kept", "{kept[users]:,} users, {kept[items]:,} items, {kept[interactions]:,} interactions"),
    ),
)
"""`benchmarks/bench_prepare.py`: one `iamrec prepare` run, in a child process."""

COLLATOR = LabelTable(
    ("", "{catalog}, batch {batch_size}, {history_items}-item histories"),
    (
        ("examples/s, first pass (tokenizes titles)", "{first_pass_examples_per_s:,}"),
        ("examples/s, steady (median)", "{steady_examples_per_s_median:,}"),
        ("tokens per example (mean, max)", "{mean_tokens_per_example}, {max_tokens_per_example}"),
        (
            "tokenizing {large_catalog[items]:,} titles",
            "{large_catalog[tokenize_all_s]:?} s ({large_catalog[titles_per_s]:,}/s)",
        ),
        ("their token cache", "{large_catalog[cache_mb]:?} MB"),
    ),
)
"""`benchmarks/bench_collator.py`, with the large-catalog rows where the file has them."""

EVALUATION_STREAMING = EntryTable(
    {
        "items": "{num_items:,}",
        "examples": "{num_examples:,}",
        "through": lambda run: "`RankingAccumulator`" if run["mode"] == "accumulator" else "`evaluate` module",
        "µs per example (runs)": "{ranking_us_per_example:each.0f}",
        "RSS growth MiB (runs)": "{peak_rss_growth_mib:each.1f}",
        "all logits MiB": "{all_logits_would_need_mib:,.1f}",
    },
    rows="streaming",
)
"""`benchmarks/bench_evaluation.py`: ranking cost and memory growth of streamed evaluation per catalog size."""

STEP_OPS = EntryTable(
    {"training step of": "`{key}`", "top-level aten calls": "{entry:,}"},
    rows="top_level_aten_calls",
    notes=("{layers} layers, batch {batch_size}, {length} tokens; counted on CPU with torch.profiler.",),
)
"""`benchmarks/count_step_ops.py`: operator calls of one training step per configuration."""


# One GPU


def short_dtype(report: dict) -> str:
    return report["dtype"].removeprefix("torch.")


def first_scorer(metric: str) -> Callable[[Mapping], str]:
    """A cell: `metric` of the one scorer an evaluation ran."""
    return lambda evaluation: f"{next(iter(evaluation['results'].values()))[metric]:.5f}"


GPU_EVALUATION = EntryTable(
    {
        "dtype": "{key}",
        "seconds, loading included": "{seconds:.1f}",
        "NDCG@10": first_scorer("NDCG@10"),
        "HR@10": first_scorer("HR@10"),
    },
    keys=("bfloat16", "float32"),
    notes=(
        "{examples:,} test examples, batch {batch_size}; random weights, so the metrics only show that both dtypes "
        "agree.",
    ),
)
"""`benchmarks/gpu_check.py`: the whole test split ranked on the device in each dtype."""

GPU_TRAIN_VARIANTS = {
    "train_batch_32.json": "batch 32",
    "train_batch_256.json": "batch 256",
    "train_fused_adamw_workers.json": "+ fused AdamW, 4 dataloader workers, pinned memory",
    "train_group_by_length.json": "+ `--train_sampling_strategy group_by_length`",
    "train_batch_512.json": "batch 512",
}

GPU_TRAIN = EntryTable(
    {
        "setting (each adds to the row above)": "{key}",
        "steady samples/s": "{steady_samples_per_second:.0f}",
        "step (s)": "{steady_step_seconds:.3f}",
        "Trainer samples/s": "{trainer_samples_per_second:.0f}",
        "peak": "{peak_memory_gib:.1f} GiB",
    },
    failed=("{key}", "{error:until.}"),
    read=lambda folder: {label: read(folder / name) for name, label in GPU_TRAIN_VARIANTS.items()},
)
"""`iamrec train` on the GPU, one result file per setting in the folder."""

GPU_STEP_THROUGHPUT = EntryTable(
    {
        "batch": "{key}",
        "plain Llama samples/s": "{samples_per_second[llama]:,.0f}",
        "`full` step time vs Llama": "{step_time_vs_llama[full]:.2f}x",
        "`hatllm` step time vs Llama": "{step_time_vs_llama[hatllm]:.2f}x",
    },
    rows="by_batch_size",
    notes=("{layers} layers, {length} tokens without padding, {short_dtype}.",),
    computed={"short_dtype": short_dtype},
)
"""`benchmarks/gpu_check.py`: training-step throughput per batch size, against plain Llama."""


def gpu_agreement(path: Path) -> list[str]:
    """The largest logit difference against eager fp32 per dtype and backend, over the schedules the file holds."""
    r = {key: value for key, value in read(path).items() if "/" in key}
    rows = []
    for dtype in ("float32", "bfloat16"):
        for backend in ("sdpa", "flex_attention"):
            diffs = [v["max_abs_diff_vs_eager_fp32"] for k, v in r.items() if k.endswith(f"/{backend}/{dtype}")]
            rows.append([dtype, backend, f"{max(diffs):.1e}"])
    return table(["dtype", "backend", "largest abs. logit difference vs eager fp32 (3 schedules)"], rows)


def milliseconds(backend: str) -> Callable[[Mapping], str]:
    """A cell: a step time in seconds, printed in ms."""
    return lambda row: f"{row[backend] * 1000:.1f} ms"


GPU_LONG_CONTEXT = EntryTable(
    {
        "tokens": lambda row: f"{int(row['key']):,}",
        "sdpa, dense mask": milliseconds("sdpa"),
        "flex, BlockMask": milliseconds("flex_attention"),
    },
    rows="step_seconds",
    notes=("{layers} `intra` layers, batch 1, forward+backward, {short_dtype}.",),
    computed={"short_dtype": short_dtype},
)
"""`benchmarks/gpu_check.py`: one training step at long sequences, dense mask against BlockMask."""


def _metric_order(key: str) -> tuple[int, int, str]:
    """test before validation before the cold splits; NDCG@10, then HR@10, then MRR within each."""
    split, _, metric = key.rpartition("_")
    splits = ("test", "validation", "test_cold", "test_cold_among_cold")
    metrics = ("NDCG@10", "HR@10", "MRR")
    return (splits.index(split) if split in splits else 9, metrics.index(metric) if metric in metrics else 9, key)


def _is_mean_std(value) -> bool:
    return isinstance(value, dict) and set(value) == {"mean", "std"}


def _seed_metric(folder: Path, configuration: str, seed: int, split: str, metric: str) -> float | None:
    path = folder / "results" / configuration / f"seed-{seed}.json"
    return read(path)[split]["metrics"][metric] if path.is_file() else None


def _cells(metrics: dict | None, mean_stds: dict | None) -> list[str]:
    names = ("NDCG@10", "HR@10", "MRR")
    if metrics is not None:
        return [f"{metrics[name]:.4f}" for name in names]
    return [mean_std(mean_stds[name]) if mean_stds[name] else "" for name in names]
