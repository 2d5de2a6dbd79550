"""Markdown tables from the result files of benchmarks/results/, one function per result layout.

Each function takes the result file or folder and returns Markdown lines; `report.py` lists which function renders
which result. Numbers are printed as recorded (rounded for reading), never computed from anything but the file.
"""

import json
from pathlib import Path

METRICS = ("HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR")


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def table(header: list[str], rows: list[list]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows],
    ]


def mean_std(value: dict, digits: int = 4) -> str:
    """ "mean ± std", or the mean alone where there is no spread (one seed)."""
    if value.get("mean") is None:
        return ""
    spread = f" ± {value['std']:.{digits}f}" if value.get("std") is not None else ""
    return f"{value['mean']:.{digits}f}{spread}"


def signed(value: float, digits: int = 4) -> str:
    return f"{value:+.{digits}f}"


def p_value(value: float) -> str:
    return f"{value:.4f}"


# The demo and the quality study


def demo(path: Path) -> list[str]:
    """`iamrec demo`'s report: the test table, then the validation curve."""
    report = read(path)
    evaluation = report["evaluation"]
    rows = [[scorer, *(f"{m[name]:.4f}" for name in METRICS)] for scorer, m in evaluation["results"].items()]
    curve = ", ".join(f"step {step}: {value:.4f}" for step, value in report["validation_curve"])
    return [
        *table(["scorer", *METRICS], rows),
        "",
        f"Test split: {evaluation['num_examples']:,} examples ranked against all {evaluation['num_items']:,} items. "
        f"Validation NDCG@10 by step: {curve}.",
    ]


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
        lines += comparison_table(comparisons)
    return lines


def study_comparisons(folder: Path) -> list[str]:
    """Only the paired comparisons of a study summary (its configurations are shown elsewhere)."""
    summary = read(folder / "summary.json")
    lines = []
    for split, comparisons in summary["comparisons"].items():
        lines += [f"Paired against `{summary['references'][split]}` on `{split}`:", "", *comparison_table(comparisons)]
        lines.append("")
    return lines[:-1]


def comparison_table(comparisons: dict) -> list[str]:
    rows = [
        [
            f"`{name}`",
            ", ".join(map(str, c["seeds"])),
            signed(c["mean_difference"]),
            f"[{signed(c['ci_low'])}, {signed(c['ci_high'])}]",
            p_value(c["p_value"]),
            "within noise" if c["within_noise"] else ("better" if c["mean_difference"] > 0 else "worse"),
            ", ".join(signed(d) for d in c["per_seed_differences"]),
            f"{c['seed_t_test']['p_value']:.3f}" if c.get("seed_t_test") else "-",
        ]
        for name, c in comparisons.items()
    ]
    header = ["configuration", "seeds", "mean difference", "95% CI", "p", "verdict", "per seed", "seed t-test p"]
    return table(header, rows)


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


def sasrec(paths: list[Path]) -> list[str]:
    """SASRec trained to early stopping per seed (`benchmarks/sasrec_ml100k.py`), one row per loss."""
    rows = []
    for path in paths:
        record = read(path)
        s = record["summary"]
        rows.append(
            [
                record["config"]["supervision"].replace("_", " "),
                len(record["seeds"]),
                *(mean_std(s[f"test_{m}"]) for m in ("NDCG@10", "HR@10", "MRR")),
                mean_std(s["validation_NDCG@10"]),
                f"{s['best_epoch']['mean']:.0f} ± {s['best_epoch']['std']:.0f}",
                f"{s['seconds_per_epoch']['mean']:.0f}",
            ]
        )
    header = ["loss", "seeds", "test NDCG@10", "test HR@10", "test MRR", "validation NDCG@10", "best epoch", "s/epoch"]
    return table(header, rows)


def evaluation_baselines(path: Path) -> list[str]:
    runs = read(path)["ml100k_baselines"]["runs"]
    rows = [
        [
            run["scorer"],
            run["split"],
            "excluded" if run["policy"]["exclude_history"] else "kept",
            f"{run['num_examples']:,}",
            *(f"{run['metrics'][m]:.4f}" for m in ("NDCG@10", "HR@10", "MRR")),
        ]
        for run in runs
    ]
    return table(["scorer", "split", "history items", "examples", "NDCG@10", "HR@10", "MRR"], rows)


def records(path: Path) -> list[str]:
    """Any JSON: its top-level numbers and strings as a two-column table (a start for a new layout)."""
    data = read(path)
    rows = [[key, value] for key, value in data.items() if isinstance(value, (int, float, str)) and key != "command"]
    return table(["", path.stem], rows)


def supervision_throughput(path: Path) -> list[str]:
    """`benchmarks/supervision_throughput.py`: one row per training format, `last` first as the reference."""
    report = read(path)
    rows = [
        [f"`{name}`", r["error"].split(":")[0] + " (did not run)", "", "", "", ""]
        if "error" in r
        else [
            f"`{name}`",
            f"{r['seconds_per_step']:.3f}",
            f"{r['tokens_per_step']:,.0f}",
            f"{r['targets_per_step']:,.0f}",
            f"{r['tokens_per_target']:.1f} ({r['tokens_per_target_vs_last']:.2f}x)",
            f"{r['targets_per_second']:,.1f} ({r['targets_per_second_vs_last']:.2f}x)",
        ]
        for name, r in report["results"].items()
    ]
    header = ["format", "step (s)", "tokens/step", "targets/step", "tokens per target (vs last)", "targets/s (vs last)"]
    settings = report.get("settings", {})
    shape = f"{settings.get('layers', '?')} layers, batch {settings.get('batch_size', '?')}"
    return [*table(header, rows), "", f"{shape}; {report.get('note', '')}."]


def training_speed(path: Path) -> list[str]:
    """`benchmarks/training_speed.py`: one row per variant, the first as the reference of every ratio."""
    report = read(path)
    reference = next(iter(report["results"]))
    rows = [
        [f"`{name}`", r["error"].split(":")[0] + " (did not run)", "", "", "", "", "", ""]
        if "error" in r
        else [
            f"`{name}`: {r['description']}",
            f"{r['seconds_per_step']:.3f}",
            f"{r['tokens_per_step']:,.0f} / {r['padded_tokens_per_step']:,.0f}",
            f"{r['targets_per_second']:,.1f} ({r[f'targets_per_second_vs_{reference}']:.2f}x)",
            f"{r['tokens_per_second']:,.0f}",
            f"{r['step_memory_mb']:,.0f}" if "step_memory_mb" in r else "",
            f"{r['warmup_seconds']:.1f}",
            f"{r['mfu']:.1%}" if "mfu" in r else f"{r['tflops_per_second']:.3f}" if "tflops_per_second" in r else "",
        ]
        for name, r in report["results"].items()
    ]
    header = [
        "variant",
        "step (s)",
        "tokens/step (real / padded)",
        f"targets/s (vs `{reference}`)",
        "tokens/s",
        "step memory (MB)",
        "warm-up (s)",
        "MFU" if any("mfu" in r for r in report["results"].values()) else "TFLOP/s",
    ]
    return [*table(header, rows), "", f"{report.get('note', '')}."]


# Attention and new items


def attention_shares_by_model(path: Path) -> list[str]:
    """Per layer and model (in the order given to `analyze-attention`), where item tokens' attention goes and where
    the final token's goes."""
    report = read(path)
    models = report["models"]
    first = next(iter(models.values()))
    rows = []
    for layer, mode in enumerate(first["item_mask_modes"]):
        for name, model in models.items():
            rows.append(
                [
                    f"{layer + 1} (`{mode}`)",
                    f"`{name}`",
                    " / ".join(f"{model['item_tokens'][k][layer]:.3f}" for k in ("same_item", "other_items", "prompt")),
                    " / ".join(f"{model['final_token'][k][layer]:.3f}" for k in ("items", "prompt")),
                ]
            )
    header = ["layer", "model", "item tokens: same item / other items / prompt", "final token: items / prompt"]
    return [*table(header, rows), "", f"The first `{report['split']}` example of each of {report['num_users']} users."]


def attention_shares(path: Path) -> list[str]:
    """Per layer, where item tokens' attention goes, with the model's masks and with every mask off."""
    report = read(path)
    masked, plain = list(report["models"].values())[:2]
    rows = []
    for layer, mode in enumerate(masked["item_mask_modes"]):
        shares = [
            " / ".join(f"{model['item_tokens'][k][layer]:.3f}" for k in ("same_item", "other_items", "prompt"))
            for model in (masked, plain)
        ]
        pair = plain["item_tokens_weight_per_pair"]
        rows.append(
            [
                f"{layer + 1} (`{mode}`)",
                *shares,
                f"{pair['same_item'][layer]:.3f} / {pair['other_items'][layer]:.3f}",
                " / ".join(f"{masked['final_token'][k][layer]:.3f}" for k in ("items", "prompt")),
            ]
        )
    header = [
        "layer",
        "masks on: same item / other items / prompt",
        "masks off: same item / other items / prompt",
        "per pair, masks off: same / other",
        "final token, masks on: items / prompt",
    ]
    return [
        *table(header, rows),
        "",
        f"The first `{report['split']}` example of each of {report['num_users']} users.",
    ]


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


def cold_title_signal(path: Path) -> list[str]:
    """New items' bias against the warm cost, and the title order against a shuffled one at equal exposure."""
    report = read(path)
    rows = []
    for level, r in report["levels"].items():
        test = r["test_cold_titles_vs_shuffled"]
        rows.append(
            [
                BIAS_LEVELS.get(level, level),
                f"{r['bias']['mean']:.2f}",
                mean_std(r["test_NDCG@10"]),
                mean_std(r["test_cold_NDCG@10_titles"]),
                mean_std(r["test_cold_NDCG@10_shuffled"]),
                signed(test["mean_difference"]),
                f"[{signed(test['ci_low'])}, {signed(test['ci_high'])}]",
                f"{test['p_value']:.2f}",
                f"{r['test_cold_titles_vs_shuffled_seed_t_test']['p_value']:.2f}",
            ]
        )
    header = [
        "cold items' bias",
        "bias",
        "warm test NDCG@10",
        "cold NDCG@10, title order",
        "cold NDCG@10, shuffled",
        "titles - shuffled",
        "95% CI",
        "p",
        "seed t-test p",
    ]
    knn = report["content_similarity_among_cold_items"]
    vs = knn["vs_random_order"]
    return [
        *table(header, rows),
        "",
        f"{len(report['models'])} models (one per seed); {report['cold_items']} cold items, "
        f"{report['examples']['test']:,} warm and {report['examples']['test_cold']:,} cold test examples. "
        f"A non-learned title kNN among the cold items: NDCG@10 {knn['NDCG@10']['mean']:.4f} against "
        f"{knn['random_order_NDCG@10']:.4f} for a random order ({signed(vs['mean_difference'])}, 95% CI "
        f"[{signed(vs['ci_low'])}, {signed(vs['ci_high'])}], p {p_value(vs['p_value'])}).",
    ]


def add_items_speed(path: Path) -> list[str]:
    report = read(path)
    rows = [
        [f"{r['new_items']:,}", f"{r['seconds']:.3f}", f"{r['items_per_second']:,}", f"{r['num_items_after']:,}"]
        for r in report["results"]
    ]
    return [*table(["new titles", "seconds", "items/s", "catalog after"], rows), "", f"Model: {report['model']}."]


# Speed and memory on CPU


def attention_schedules(path: Path) -> list[str]:
    report = read(path)
    rows = [
        [
            r["length"],
            f"`{r['schedule']}`",
            r["step_s"],
            f"{r['time_ratio']:.3f}x",
            r["peak_mb"],
            f"{r['memory_ratio']}x",
        ]
        for r in report["rows"]
    ]
    return [
        *table(["tokens", "schedule", "step (s)", "time vs Llama", "peak MB", "memory vs Llama"], rows),
        "",
        f"{report['layers']} layers of SmolLM2-135M's shape, batch {report['batch_size']}, one forward+backward, "
        f"median of {report.get('repeats', 'the repeats')}.",
    ]


def masks(path: Path) -> list[str]:
    report = read(path)
    rows = [
        [
            f"{r['length']:,}",
            r["backend"],
            f"`{r['mode']}`",
            r["approach"].replace("_", " "),
            f"{r['build_s']:.3f}",
            f"{r['time_ratio']:.2f}x",
            f"{r['peak_mb']:,.1f}",
        ]
        for r in report["rows"]
    ]
    return table(["tokens", "backend", "mode", "built from", "build (s)", "vs dense rule", "peak MiB"], rows)


def prepare(path: Path) -> list[str]:
    r = read(path)
    kept = r["kept"]
    rows = [
        ["reviews read", f"{r['reviews']:,} ({r['reviews_gz_mib']} MiB gzip)"],
        ["prepare time", f"{r['prepare_s']} s"],
        ["interactions/s", f"{r['interactions_per_s']:,} ({r['interactions_per_s_with_startup']:,} with start-up)"],
        ["peak resident memory", f"{r['peak_rss_mib']:,} MiB ({r['rss_after_import_mib']} MiB after imports)"],
        ["kept", f"{kept['users']:,} users, {kept['items']:,} items, {kept['interactions']:,} interactions"],
    ]
    return table(["", r["benchmark"]], rows)


def collator(path: Path) -> list[str]:
    r = read(path)
    large = r.get("large_catalog", {})
    rows = [
        ["examples/s, first pass (tokenizes titles)", f"{r['first_pass_examples_per_s']:,}"],
        ["examples/s, steady (median)", f"{r['steady_examples_per_s_median']:,}"],
        ["tokens per example (mean, max)", f"{r['mean_tokens_per_example']}, {r['max_tokens_per_example']}"],
    ]
    if large:
        rows += [
            [f"tokenizing {large['items']:,} titles", f"{large['tokenize_all_s']} s ({large['titles_per_s']:,}/s)"],
            ["their token cache", f"{large['cache_mb']} MB"],
        ]
    return table(["", f"{r['catalog']}, batch {r['batch_size']}, {r['history_items']}-item histories"], rows)


def evaluation_streaming(path: Path) -> list[str]:
    r = read(path)
    rows = [
        [
            f"{s['num_items']:,}",
            f"{s['num_examples']:,}",
            "`RankingAccumulator`" if s["mode"] == "accumulator" else "`evaluate` module",
            ", ".join(f"{v:.0f}" for v in s["ranking_us_per_example"]),
            ", ".join(f"{v:.1f}" for v in s["peak_rss_growth_mib"]),
            f"{s['all_logits_would_need_mib']:,.1f}",
        ]
        for s in r["streaming"]
    ]
    header = ["items", "examples", "through", "µs per example (runs)", "RSS growth MiB (runs)", "all logits MiB"]
    return table(header, rows)


def step_ops(path: Path) -> list[str]:
    r = read(path)
    rows = [[f"`{name}`", f"{count:,}"] for name, count in r["top_level_aten_calls"].items()]
    return [
        *table(["training step of", "top-level aten calls"], rows),
        "",
        f"{r['layers']} layers, batch {r['batch_size']}, {r['length']} tokens; counted on CPU with torch.profiler.",
    ]


# One GPU


def gpu_evaluation(path: Path) -> list[str]:
    r = read(path)
    rows = []
    for dtype in ("bfloat16", "float32"):
        e = r[dtype]
        metrics = next(iter(e["results"].values()))
        rows.append([dtype, f"{e['seconds']:.1f}", f"{metrics['NDCG@10']:.5f}", f"{metrics['HR@10']:.5f}"])
    return [
        *table(["dtype", "seconds, loading included", "NDCG@10", "HR@10"], rows),
        "",
        f"{r['examples']:,} test examples, batch {r['batch_size']}; random weights, so the metrics only show that "
        "both dtypes agree.",
    ]


GPU_TRAIN_VARIANTS = {
    "train_batch_32.json": "batch 32",
    "train_batch_256.json": "batch 256",
    "train_fused_adamw_workers.json": "+ fused AdamW, 4 dataloader workers, pinned memory",
    "train_group_by_length.json": "+ `--train_sampling_strategy group_by_length`",
    "train_batch_512.json": "batch 512",
}


def gpu_train(folder: Path) -> list[str]:
    rows = []
    for name, label in GPU_TRAIN_VARIANTS.items():
        r = read(folder / name)
        if "error" in r:
            rows.append([label, r["error"].split(".")[0], "", "", ""])
            continue
        rows.append(
            [
                label,
                f"{r['steady_samples_per_second']:.0f}",
                f"{r['steady_step_seconds']:.3f}",
                f"{r['trainer_samples_per_second']:.0f}",
                f"{r['peak_memory_gib']:.1f} GiB",
            ]
        )
    header = ["setting (each adds to the row above)", "steady samples/s", "step (s)", "Trainer samples/s", "peak"]
    return table(header, rows)


def gpu_step_throughput(path: Path) -> list[str]:
    r = read(path)
    rows = [
        [
            batch,
            f"{v['samples_per_second']['llama']:,.0f}",
            f"{v['step_time_vs_llama']['full']:.2f}x",
            f"{v['step_time_vs_llama']['hatllm']:.2f}x",
        ]
        for batch, v in r["by_batch_size"].items()
    ]
    return [
        *table(["batch", "plain Llama samples/s", "`full` step time vs Llama", "`hatllm` step time vs Llama"], rows),
        "",
        f"{r['layers']} layers, {r['length']} tokens without padding, {r['dtype'].removeprefix('torch.')}.",
    ]


def gpu_agreement(path: Path) -> list[str]:
    r = {key: value for key, value in read(path).items() if "/" in key}
    rows = []
    for dtype in ("float32", "bfloat16"):
        for backend in ("sdpa", "flex_attention"):
            diffs = [v["max_abs_diff_vs_eager_fp32"] for k, v in r.items() if k.endswith(f"/{backend}/{dtype}")]
            rows.append([dtype, backend, f"{max(diffs):.1e}"])
    return table(["dtype", "backend", "largest abs. logit difference vs eager fp32 (3 schedules)"], rows)


def gpu_long_context(path: Path) -> list[str]:
    r = read(path)
    rows = [
        [f"{int(length):,}", f"{v['sdpa'] * 1000:.1f} ms", f"{v['flex_attention'] * 1000:.1f} ms"]
        for length, v in r["step_seconds"].items()
    ]
    return [
        *table(["tokens", "sdpa, dense mask", "flex, BlockMask"], rows),
        "",
        f"{r['layers']} `intra` layers, batch 1, forward+backward, {r['dtype'].removeprefix('torch.')}.",
    ]


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


def study_comparison(path: Path) -> list[str]:
    """`benchmarks/compare_studies.py`: a candidate study against a reference one per configuration, paired per test
    example."""
    report = read(path)
    labels = report.get("labels", {"reference": "last", "candidate": "every_item"})
    reference, candidate = labels["reference"], labels["candidate"]
    rows = []
    for name, c in report["comparisons"].items():
        t_test = c.get("seed_t_test")
        rows.append(
            [
                f"`{name}`",
                ", ".join(map(str, c["seeds"])),
                mean_std(c[f"test_NDCG@10_{reference}"]),
                mean_std(c[f"test_NDCG@10_{candidate}"]),
                signed(c["mean_difference"]),
                f"[{signed(c['ci_low'])}, {signed(c['ci_high'])}]",
                p_value(c["p_value"]),
                ", ".join(signed(value) for value in c["per_seed_differences"]),
                "" if t_test is None else f"{t_test['p_value']:.3f}",
                verdict(c, f"{candidate} better", f"{reference} better"),
            ]
        )
    header = [
        "configuration",
        "seeds",
        f"test NDCG@10, {reference}",
        f"test NDCG@10, {candidate}",
        "difference",
        "95% CI",
        "bootstrap p",
        "difference per seed",
        "seed t-test p",
        "verdict",
    ]
    return table(header, rows)


def chunking_sweep(path: Path) -> list[str]:
    """`benchmarks/chunking_sweep.py`: test metrics per chunking, each paired seed by seed with the reference."""
    report = read(path)
    reference, rows = report["reference"], []
    for chunking, entry in report["summary"].items():
        paired = entry.get(f"vs_{reference}")
        rows.append(
            [
                f"`{chunking}`" + (" (default)" if chunking == reference else ""),
                ", ".join(map(str, entry["seeds"])),
                ", ".join(map(str, entry["steps"])),
                mean_std(entry["test_HR@10"]),
                mean_std(entry["test_NDCG@10"]),
                "" if paired is None else ", ".join(signed(value) for value in paired["per_seed_differences"]),
                "" if paired is None or paired["seed_t_test"] is None else f"{paired['seed_t_test']['p_value']:.3f}",
            ]
        )
    header = ["CHUNK:CONTEXT", "seeds", "steps", "test HR@10", "test NDCG@10", f"vs {reference}, per seed", "t-test p"]
    return table(header, rows)


def against_sasrec(path: Path) -> list[str]:
    """`benchmarks/compare_to_sasrec.py`: each LLM run paired per test example with SASRec's mean over its seeds."""
    report = read(path)
    sasrec = report["sasrec"]
    rows = [
        [
            f"`{name}`",
            run["device"],
            f"{run['training']['global_step']} ({run['training']['stop_reason']}, best {run['training']['best_step']})",
            f"{run['test_NDCG@10']:.4f}",
            signed(run["mean_difference"]),
            f"[{signed(run['ci_low'])}, {signed(run['ci_high'])}]",
            p_value(run["p_value"]),
            verdict(run, "LLM better", "SASRec better"),
        ]
        for name, run in report["runs"].items()
    ]
    header = ["run", "device", "steps (stop, best)", "test NDCG@10", "vs SASRec", "95% CI", "bootstrap p", "verdict"]
    seeds = ", ".join(map(str, sasrec["seeds"]))
    lines = [*table(header, rows), "", f"SASRec: test NDCG@10 {mean_std(sasrec['test_NDCG@10'])} (seeds {seeds})."]
    for name, c in report.get("seed_means", {}).items():
        t_test = c["seed_t_test"]
        lines += [
            "",
            f"`{name}` over seeds {', '.join(map(str, c['seeds']))}: test NDCG@10 {mean_std(c['test_NDCG@10'])}; its "
            f"per-example NDCG@10 averaged over seeds against SASRec's: {signed(c['mean_difference'])} "
            f"[{signed(c['ci_low'])}, {signed(c['ci_high'])}], bootstrap p {p_value(c['p_value'])}; seed by seed "
            f"against SASRec's seed of the same number: {', '.join(signed(d) for d in c['per_seed_differences'])}"
            + ("" if t_test is None else f", paired t-test p {t_test['p_value']:.3f}")
            + ".",
        ]
    return lines


def verdict(paired: dict, better: str, worse: str) -> str:
    """A paired bootstrap's verdict: within noise, or which side is better."""
    return "within noise" if paired["within_noise"] else (better if paired["mean_difference"] > 0 else worse)


def validation_curves(folders: list[Path]) -> list[str]:
    """Validation NDCG@10 at each evaluation of every run in `iamrec study` folders, with where and why it stopped."""
    rows = []
    for folder in folders:
        for path in sorted(folder.glob("results/*/seed-*.json")):
            run = read(path)
            training = run["training"]
            evaluations = [entry for entry in training["log_history"] if "eval_NDCG@10" in entry]
            epochs = max((entry.get("epoch", 0.0) for entry in training["log_history"]), default=0.0)
            rows.append(
                [
                    f"`{folder.name}/{run['configuration']}/seed-{run['seed']}`",
                    run["device"],
                    f"{training['global_step']} ({epochs:.1f} epochs)",
                    f"{training['stop_reason']}, best {training['best_step']}",
                    ", ".join(f"{entry['step']}: {entry['eval_NDCG@10']:.4f}" for entry in evaluations),
                    f"{run['test']['metrics']['NDCG@10']:.4f}",
                ]
            )
    header = ["run", "device", "steps", "stop, best step", "validation NDCG@10 by step", "test NDCG@10"]
    return table(header, rows)
