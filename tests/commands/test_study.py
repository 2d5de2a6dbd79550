"""`iamrec study`: the grid of configurations x seeds on the tiny fixtures (`budget="tiny"`), its result files, reruns,
time box, summary and paired bootstrap, and HatLLM's Table-5 variants as per-layer modes."""

import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from iamrec import DEMO_BUDGETS, study
from iamrec.baselines import MostPopular
from iamrec.cli import main
from iamrec.configuration_iamrec import block_sizes, hatllm_schedule
from iamrec.data import load_prepared
from iamrec.demo import demo_arguments
from iamrec.evaluation import CandidateScorer, EvaluationPolicy, evaluate_scorer, metrics_from_ranks
from iamrec.study.runs import finished_and_pending
from training_fixtures import write_tiny_base_model, write_tiny_data

GRID, SEEDS = ["full", "hatllm", "most_popular"], [0, 1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    return {"root": root, "data": write_tiny_data(root), "base": str(write_tiny_base_model(root))}


@pytest.fixture(scope="module")
def finished(tiny):
    """The tiny grid run once; tests below read (and rerun) it."""
    output = tiny["root"] / "study"
    started = time.perf_counter()
    report = study.run_study(tiny["data"], output, GRID, SEEDS, "tiny", base_model=tiny["base"], show_progress=False)
    return {**tiny, "output": output, "report": report, "seconds": time.perf_counter() - started}


def results(output):
    return {(c, s): json.loads(study.result_path(output, c, s).read_text()) for c in GRID for s in SEEDS}


def test_a_tiny_grid_writes_one_complete_result_per_run(finished):
    assert finished["report"].finished == [(c, s) for c in GRID for s in SEEDS] and not finished["report"].skipped
    files = sorted(path.relative_to(finished["output"]) for path in (finished["output"] / "results").rglob("*"))
    assert [str(path) for path in files if path.suffix == ".json"] == [
        f"results/{c}/seed-{s}.json" for c in sorted(GRID) for s in SEEDS
    ]
    assert not (finished["output"] / "work").exists()  # models are not kept by default
    test = load_prepared(finished["data"]).splits["test"]
    for (configuration, seed), record in results(finished["output"]).items():
        assert study.read_result(study.result_path(finished["output"], configuration, seed)) == record
        assert (record["configuration"], record["seed"], record["budget"], record["complete"]) == (
            configuration,
            seed,
            "tiny",
            True,
        )
        assert record["test"]["num_examples"] == min(64, len(test)) == len(record["test_ranks"])
        assert record["test"]["metrics"] == pytest.approx(metrics_from_ranks(record["test_ranks"]))
        assert all(isinstance(rank, int) and 1 <= rank <= 24 for rank in record["test_ranks"])
        assert set(record["validation"]["metrics"]) == {"HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR"}
        assert record["versions"]["torch"] and record["versions"]["transformers"] and record["device"].startswith("cpu")
        assert record["wall_seconds"] > 0 and record["settings"]["budget"]["max_steps"] == 4
    records = results(finished["output"])
    assert records[("hatllm", 0)]["item_mask_modes"] == ["intra", "inter_last"]  # 2 layers: no middle block
    assert records[("full", 1)]["item_mask_modes"] == ["full", "full"]
    assert records[("most_popular", 0)]["item_mask_modes"] is None
    llm = records[("hatllm", 1)]
    assert llm["settings"]["iamrec_arguments"]["item_mask_modes"] == ["intra", "inter_last"]
    assert llm["settings"]["training_arguments"]["seed"] == 1
    assert llm["training"]["global_step"] == 4 and llm["training"]["best_step"] in (2, 4)
    assert llm["training"]["stopped_early"] is False and llm["training"]["stop_reason"] == "max_steps"
    # The best checkpoint's validation NDCG@10 (the Trainer's) is what the study measures again on the same examples.
    assert llm["validation"]["metrics"]["NDCG@10"] == pytest.approx(llm["training"]["best_validation_metric"])


def test_result_files_record_no_absolute_path(finished):
    """The data folder, the base model and the work folder used to be recorded as absolute paths."""

    def strings(value):
        if isinstance(value, dict):
            return [text for item in value.values() for text in strings(item)]
        if isinstance(value, list):
            return [text for item in value for text in strings(item)]
        return [value] if isinstance(value, str) else []

    for (configuration, seed), record in results(finished["output"]).items():
        absolute = [text for text in strings(record) if text.startswith("/")]
        assert not absolute, (configuration, seed, absolute)
    llm = results(finished["output"])[("full", 0)]["settings"]
    assert Path(llm["data_dir"]).resolve() == Path(finished["data"]).resolve()
    assert Path(llm["iamrec_arguments"]["base_model"]).resolve() == Path(finished["base"]).resolve()


def test_a_rerun_skips_complete_runs_and_redoes_an_incomplete_one(finished, monkeypatch):
    paths = [study.result_path(finished["output"], c, s) for c in GRID for s in SEEDS]
    mtimes = [path.stat().st_mtime_ns for path in paths]

    def must_not_train(spec):
        raise AssertionError(f"{spec.configuration}/seed-{spec.seed} was run again")

    monkeypatch.setattr(study.runs, "run_one", must_not_train)
    base = finished["base"]
    report = study.run_study(
        finished["data"], finished["output"], GRID, SEEDS, "tiny", base_model=base, show_progress=0
    )
    assert report.skipped == [(c, s) for c in GRID for s in SEEDS] and report.finished == []
    assert [path.stat().st_mtime_ns for path in paths] == mtimes

    broken = study.result_path(finished["output"], "full", 1)
    saved = broken.read_text()
    calls = []
    monkeypatch.setattr(study.runs, "run_one", lambda spec: calls.append((spec.configuration, spec.seed)))
    try:
        broken.write_text(saved[: len(saved) // 2])  # a torn write, as if killed mid-way without the rename
        report = study.run_study(finished["data"], finished["output"], GRID, SEEDS, "tiny", base_model=base)
    finally:
        broken.write_text(saved)
        study.summarize(finished["output"], GRID)  # the summary of the whole grid again, for the tests below
    assert calls == [("full", 1)] and report.finished == [("full", 1)] and len(report.skipped) == 5


def test_budget_minutes_zero_starts_nothing_and_says_so(tiny, capsys):
    output = tiny["root"] / "zero"
    flags = ["--data-dir", str(tiny["data"]), "--output-dir", str(output), "--budget", "tiny"]
    assert (
        main(
            [
                "study",
                *flags,
                "--base-model",
                tiny["base"],
                "--grid",
                *GRID,
                "--seeds",
                "0",
                "1",
                "--budget-minutes",
                "0",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert printed.startswith("No finished runs yet.")
    assert "0 run(s) finished" in printed and "6 run(s) not started: full/seed-0, full/seed-1, hatllm/seed-0" in printed
    assert not (output / "results").exists()


def test_a_deadline_stops_a_running_training_early_and_records_it(tiny):
    output = tiny["root"] / "deadline"
    spec = study.RunSpec("hatllm", 0, str(tiny["data"]), str(output), "tiny", tiny["base"], deadline=time.time())
    record = study.run_one(spec)  # started (the start check is run_study's), then stopped after its first step
    assert record["training"]["stopped_early"] is True and record["training"]["stop_reason"] == "deadline"
    assert record["training"]["global_step"] == 1 < study.STUDY_BUDGETS["tiny"].max_steps
    assert record["training"]["best_step"] == 1  # no validation before the stop: the final weights are evaluated
    assert study.read_result(study.result_path(output, "hatllm", 0)) == json.loads(json.dumps(record))
    summary, markdown = study.summarize(output)
    assert summary["configurations"]["hatllm"]["stopped_early"] == [0]
    assert "| hatllm | HatLLM (IN-OR-CR) | 0 |" in markdown and markdown.rstrip().endswith("| 0 |")


def test_the_summary_matches_values_computed_by_hand(finished):
    summary = json.loads((finished["output"] / "summary.json").read_text())
    records = results(finished["output"])
    for configuration in GRID:
        for split, metric in study.SUMMARY_METRICS:
            values = [records[(configuration, seed)][split]["metrics"][metric] for seed in SEEDS]
            row = summary["configurations"][configuration][f"{split}_{metric}"]
            assert row["mean"] == pytest.approx(statistics.mean(values), abs=1e-12)
            assert row["std"] == pytest.approx(statistics.stdev(values), abs=1e-12)
    popular = summary["configurations"]["most_popular"]["test_NDCG@10"]
    assert popular["std"] == 0.0  # MostPopular ignores the seed
    per_example = {  # per example: NDCG@10 of each seed's rank, averaged over the seeds
        c: np.mean([[1 / np.log2(r + 1) if r <= 10 else 0.0 for r in records[(c, s)]["test_ranks"]] for s in SEEDS], 0)
        for c in ("hatllm", "full")
    }
    assert summary["references"] == {"test": "full"} and "test_cold" not in summary["comparisons"]
    comparison = summary["comparisons"]["test"]["hatllm"]
    assert comparison["seeds"] == SEEDS and comparison["resamples"] == 10_000
    assert comparison["mean_difference"] == pytest.approx(float(np.mean(per_example["hatllm"] - per_example["full"])))
    per_seed = [  # each seed's mean NDCG@10, hatllm minus full
        records[("hatllm", s)]["test"]["metrics"]["NDCG@10"] - records[("full", s)]["test"]["metrics"]["NDCG@10"]
        for s in SEEDS
    ]
    assert comparison["per_seed_differences"] == pytest.approx(per_seed)
    assert comparison["seed_t_test"] == study.paired_t_test(comparison["per_seed_differences"])
    assert np.mean(per_seed) == pytest.approx(comparison["mean_difference"])
    assert comparison["ci_low"] <= comparison["mean_difference"] <= comparison["ci_high"]
    markdown = (finished["output"] / "summary.md").read_text()
    full = summary["configurations"]["full"]["test_NDCG@10"]
    assert "| full | BIGRec (OR in every layer) | 0,1 | " in markdown
    assert f"{full['mean']:.4f} ± {full['std']:.4f}" in markdown
    verdicts = [test["within_noise"] for test in summary["comparisons"]["test"].values()]
    assert ("within noise" in markdown) == any(verdicts)
    assert "test_cold" not in markdown  # no cold split in this data: no cold columns


def test_summarize_only_rebuilds_the_tables_from_finished_runs(finished, capsys):
    (finished["output"] / "summary.md").unlink()
    assert main(["study", "--output-dir", str(finished["output"]), "--summarize-only"]) == 0
    printed = capsys.readouterr().out
    assert printed == (finished["output"] / "summary.md").read_text()
    assert "| hatllm | 0,1 |" in printed and "| most_popular | 0,1 |" in printed


@pytest.mark.parametrize("damage", ["cut short", "without its training key"])
def test_summarize_only_names_a_result_it_leaves_out(finished, capsys, caplog, damage):
    """A result without `training` used to end in a KeyError traceback; a truncated one was left out silently."""
    path = study.result_path(finished["output"], "full", 1)
    saved = path.read_text()
    record = json.loads(saved)
    del record["training"]
    try:
        path.write_text(saved[: len(saved) // 2] if damage == "cut short" else json.dumps(record))
        with caplog.at_level("WARNING", logger="iamrec.study.results"):
            assert main(["study", "--output-dir", str(finished["output"]), "--summarize-only"]) == 0
        assert f"Ignoring the result {path}: " in caplog.text
        full = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| full |"))
        assert "| 0 |" in full and "0,1" not in full  # seed 1 left out, seed 0 kept
    finally:
        path.write_text(saved)
        study.summarize(finished["output"], GRID)


def test_the_paired_bootstrap_separates_noise_from_a_clear_difference():
    rng = np.random.default_rng(1)
    reference = rng.random(500)
    same = study.paired_bootstrap(reference, reference.copy())
    assert same["mean_difference"] == 0.0 and same["ci_low"] == same["ci_high"] == 0.0
    assert same["p_value"] == 1.0 and same["within_noise"] is True

    better = reference + 0.05 + rng.normal(0, 0.05, 500)  # a shift of 0.05 with a per-example spread of 0.05
    clear = study.paired_bootstrap(better, reference)
    assert clear["mean_difference"] == pytest.approx(float(np.mean(better - reference)))
    assert 0 < clear["ci_low"] < clear["mean_difference"] < clear["ci_high"] < 0.06
    assert clear["p_value"] < 0.001 and clear["within_noise"] is False
    worse = study.paired_bootstrap(reference, better)
    assert worse["ci_high"] < 0 and worse["p_value"] < 0.001

    noisy = study.paired_bootstrap(reference + rng.normal(0, 0.05, 500), reference)  # no shift: noise only
    assert noisy["ci_low"] < 0 < noisy["ci_high"] and noisy["p_value"] > 0.05 and noisy["within_noise"]
    assert study.paired_bootstrap(better, reference) == clear  # a fixed bootstrap seed


def test_the_seed_t_test_matches_the_closed_forms():
    # Student's t tails in closed form: df 1 (Cauchy) p = 1 - 2 atan(|t|) / pi; df 2 p = 1 - |t| / sqrt(2 + t^2).
    one = study.paired_t_test([1.0, 3.0])  # mean 2, sd sqrt(2), t = 2 / (sqrt(2) / sqrt(2)) = 2
    assert one["t"] == pytest.approx(2.0) and one["df"] == 1
    assert one["p_value"] == pytest.approx(1 - 2 * np.arctan(2.0) / np.pi, abs=1e-9)
    two = study.paired_t_test([0.0011, 0.0027, 0.0015])
    assert two["p_value"] == pytest.approx(1 - two["t"] / np.sqrt(2 + two["t"] ** 2), abs=1e-9)
    assert study.paired_t_test([-0.0011, -0.0027, -0.0015])["p_value"] == pytest.approx(two["p_value"])
    assert study.paired_t_test([0.5]) is None  # one seed: no spread to test against
    assert study.paired_t_test([0.2, 0.2])["p_value"] == 0.0 and study.paired_t_test([0.0, 0.0])["p_value"] == 1.0


def test_table5_variants_for_a_6_layer_model():
    assert block_sizes(6) == (1, 4, 1)
    expected = {
        "full": ["full"] * 6,
        "hatllm": ["intra", "full", "full", "full", "full", "inter_last"],
        "iam": ["intra"] * 3 + ["inter"] * 3,
        "wo_in": ["full", "full", "full", "full", "full", "inter_last"],
        "wo_or": ["intra", "intra", "intra", "inter_last", "inter_last", "inter_last"],
        "wo_cr": ["intra", "full", "full", "full", "full", "full"],
        "cr_pre": ["intra", "full", "full", "full", "full", "inter"],
        "in_cr_or": ["intra", "inter_last", "inter_last", "inter_last", "inter_last", "full"],
        "or_in_cr": ["full", "intra", "intra", "intra", "intra", "inter_last"],
        "or_cr_in": ["full", "inter_last", "inter_last", "inter_last", "inter_last", "intra"],
        "cr_in_or": ["inter_last", "intra", "intra", "intra", "intra", "full"],
        "cr_or_in": ["inter_last", "full", "full", "full", "full", "intra"],
        "hatllm_text": ["intra", "full", "full", "full", "full", "inter_last"],  # hatllm's, with the title head
        "hatllm_title_only": ["intra", "full", "full", "full", "full", "inter_last"],
        # hatllm's, with item vectors beside the titles
        **{name: ["intra", "full", "full", "full", "full", "inter_last"] for name in study.ITEM_ID_CONFIGURATIONS},
    }
    six_layers = [name for name in study.LLM_CONFIGURATIONS if name not in study.BLOCK_CONFIGURATIONS]
    assert {name: study.table5_modes(name, 6) for name in six_layers} == expected
    # Scaled to depth: the library's HatLLM default at 30 layers, the demo's 1-1-1 at 3.
    assert block_sizes(30) == (4, 25, 1) and study.table5_modes("hatllm", 30) == hatllm_schedule(30)
    assert study.table5_modes("hatllm", 3) == ["intra", "full", "inter_last"]
    assert study.table5_modes("wo_or", 30) == ["intra"] * 16 + ["inter_last"] * 14
    assert study.GRIDS["ablations"] == ("full", "hatllm", *study.TABLE5_VARIANTS)
    assert study.resolve_grid(["main", "wo_in", "full"]) == ["full", "hatllm", "iam", "most_popular", "sasrec", "wo_in"]
    with pytest.raises(ValueError, match="Unknown grid or configuration 'hatlm'"):
        study.resolve_grid(["hatlm"])


def test_the_depth_sweep_changes_one_hatllm_block_at_30_layers_and_leaves_the_others_as_they_were():
    def blocks(**counts):
        return [mode for mode, count in counts.items() for _ in range(count)]

    assert study.table5_modes("hatllm_in2", 30) == blocks(intra=2, full=27, inter_last=1)
    assert study.table5_modes("hatllm_in6", 30) == blocks(intra=6, full=23, inter_last=1)
    assert study.table5_modes("hatllm_cr2", 30) == blocks(intra=4, full=24, inter_last=2)
    assert study.table5_modes("hatllm_cr3", 30) == blocks(intra=4, full=23, inter_last=3)
    assert study.GRIDS["depth"] == ("full", "hatllm", "hatllm_in2", "hatllm_in6", "hatllm_cr2", "hatllm_cr3")
    assert study.model_arguments("hatllm_cr3") == {"rec_head_type": "linear"}  # hatllm's head and input
    assert (
        study.grid.label("hatllm_in6") == "HatLLM, 6 IN layers"
        and study.grid.label("hatllm_cr2") == "HatLLM, 2 CR layers"
    )
    # The configurations that were there before, at 30 layers, as they were.
    assert study.table5_modes("full", 30) == blocks(full=30)
    assert study.table5_modes("hatllm", 30) == blocks(intra=4, full=25, inter_last=1)
    assert study.table5_modes("iam", 30) == blocks(intra=15, inter=15)
    assert study.table5_modes("wo_in", 30) == blocks(full=29, inter_last=1)
    assert study.table5_modes("wo_cr", 30) == blocks(intra=4, full=26)
    assert study.table5_modes("cr_pre", 30) == blocks(intra=4, full=25, inter=1)
    assert study.table5_modes("hatllm_ids", 30) == study.table5_modes("hatllm", 30)
    # Too shallow for a block: one line naming the configuration; the smallest depth each runs at.
    with pytest.raises(ValueError, match=r"^hatllm_in6 cannot run on a model of 3 layers: Cannot give 6 leading"):
        study.table5_modes("hatllm_in6", 3)
    smallest = {name: min(n for n in range(1, 31) if fits(name, n)) for name in study.BLOCK_CONFIGURATIONS}
    assert smallest == {"hatllm_in2": 3, "hatllm_in6": 7, "hatllm_cr2": 3, "hatllm_cr3": 4}


def fits(configuration, num_layers):
    try:
        study.table5_modes(configuration, num_layers)
    except ValueError:
        return False
    return True


def test_a_study_refuses_a_base_model_too_shallow_for_a_configuration_before_any_run(tiny, monkeypatch):
    def must_not_run(spec):
        raise AssertionError(f"{spec.configuration}/seed-{spec.seed} ran")

    monkeypatch.setattr(study.runs, "run_one", must_not_run)
    output = tiny["root"] / "too-shallow"
    with pytest.raises(ValueError, match="hatllm_cr2 cannot run on a model of 2 layers"):  # the tiny base has 2
        study.run_study(tiny["data"], output, ["full", "hatllm_cr2"], [0], "tiny", base_model=tiny["base"])
    assert not (output / "results").exists()


def test_the_title_head_configuration_trains_hatllms_schedule_with_the_text_head(tmp_path):
    assert study.table5_modes("hatllm_text", 30) == study.table5_modes("hatllm", 30)
    assert study.resolve_grid(["cold_start"]) == [
        "hatllm",
        "hatllm_text",
        "hatllm_title_only",
        "most_popular",
        "most_popular_histories",
        "random",
    ]
    budget, modes = study.STUDY_BUDGETS["cpu"], study.table5_modes("hatllm_text", 3)
    head = study.head_arguments("hatllm_text")
    args, _ = study.llm_arguments(budget, "data", tmp_path, modes, 0, "smollm2-135m", head)
    assert (args.rec_head_type, args.rec_head_item_corrections) == ("text", True)
    assert study.head_arguments("hatllm_title_only") == {"rec_head_type": "text", "rec_head_item_corrections": False}
    assert study.head_arguments("hatllm") == {"rec_head_type": "linear"}


def test_the_cold_start_grid_reports_and_pairs_the_cold_split(tiny):
    from iamrec.data import ProtocolConfig

    data = write_tiny_data(tiny["root"], ProtocolConfig(cold_items_fraction=0.2, cold_items_seed=0))
    output = tiny["root"] / "cold-study"
    grid = ["hatllm", "hatllm_text", "most_popular_histories", "random"]
    study.run_study(data, output, grid, [0, 1], "tiny", base_model=tiny["base"], show_progress=False)
    records = {(c, s): json.loads(study.result_path(output, c, s).read_text()) for c in grid for s in (0, 1)}
    prepared = load_prepared(data)
    test_cold, cold_items = prepared.splits["test_cold"], set(prepared.protocol["cold_items"])
    for record in records.values():
        assert record["test_cold"]["num_examples"] == min(64, len(test_cold)) == len(record["test_cold"]["ranks"])
        assert record["test_cold"]["metrics"] == pytest.approx(metrics_from_ranks(record["test_cold"]["ranks"]))
    assert records[("hatllm_text", 0)]["settings"]["iamrec_arguments"]["rec_head_type"] == "text"
    assert records[("hatllm_text", 0)]["settings"]["cold_items_scored_as_new"] is True  # reset_items before ranking
    assert "cold_items_scored_as_new" not in records[("hatllm", 0)]["settings"]  # a linear head has no title to use
    assert all(records[(c, 0)]["settings"]["cold_items_held_out_in_training"] for c in ("hatllm", "hatllm_text"))
    assert records[("random", 0)]["test_ranks"] != records[("random", 1)]["test_ranks"]  # drawn from the run's seed
    # The popularity fallback counts history mentions, so cold items (never a training target) get a popularity.
    num_items = len(prepared.titles)
    popular = MostPopular(num_items, count="targets+histories").fit(prepared.splits["train"])
    assert all(popular.counts[item] > 0 for item in cold_items)
    expected = study.rank_split(
        popular, test_cold.select(range(min(64, len(test_cold)))), num_items, EvaluationPolicy(), 8
    )
    assert records[("most_popular_histories", 0)]["test_cold"]["ranks"] == expected[1]
    # Ranked among the cold items only: the same order of the cold items, with no trained item above the target.
    among_cold = study.rank_split(
        CandidateScorer(popular, sorted(cold_items), num_items),
        test_cold.select(range(min(64, len(test_cold)))),
        num_items,
        EvaluationPolicy(),
        8,
    )
    assert records[("most_popular_histories", 0)]["test_cold_among_cold"]["ranks"] == among_cold[1]
    for record in records.values():
        ranks = record["test_cold_among_cold"]["ranks"]
        assert all(1 <= rank <= len(cold_items) for rank in ranks)
        assert all(ours <= whole for ours, whole in zip(ranks, record["test_cold"]["ranks"]))
        assert record["test_cold_among_cold"]["targets"] == record["test_cold"]["targets"]

    summary, markdown = study.summarize(output, grid)
    # no `full` here: the linear head is the reference on test
    assert summary["references"] == {"test": "hatllm", "test_cold": "random", "test_cold_among_cold": "random"}
    text = summary["comparisons"]["test"]["hatllm_text"]
    per_example = [
        np.mean([[1 / np.log2(r + 1) if r <= 10 else 0.0 for r in records[(c, s)][split]] for s in (0, 1)], 0)
        for c, split in (("hatllm_text", "test_ranks"), ("hatllm", "test_ranks"))
    ]
    assert text["mean_difference"] == pytest.approx(float(np.mean(per_example[0] - per_example[1])))
    cold = summary["comparisons"]["test_cold"]
    assert set(cold) == {"hatllm", "hatllm_text", "most_popular_histories"}
    ndcg = {c: [records[(c, s)]["test_cold"]["metrics"]["NDCG@10"] for s in (0, 1)] for c in grid}
    assert cold["hatllm_text"]["per_seed_differences"] == pytest.approx(
        np.subtract(ndcg["hatllm_text"], ndcg["random"])
    )
    assert summary["configurations"]["random"]["test_cold_NDCG@10"]["mean"] == pytest.approx(np.mean(ndcg["random"]))
    assert "test_cold NDCG@10" in markdown and "Paired against `random` on test_cold" in markdown
    assert set(summary["comparisons"]["test_cold_among_cold"]) == set(cold)
    assert "test_cold_among_cold NDCG@10" in markdown


@pytest.mark.parametrize("supervision", ["last", "every_item"])
def test_the_cpu_budget_is_the_demos_recipe_every_item_trained_shorter(tmp_path, supervision):
    demo_budget = dataclasses.replace(DEMO_BUDGETS["default"], supervision=supervision)
    demo_args, demo_training = demo_arguments(tmp_path, demo_budget, seed=3)
    modes = ["intra", "full", "inter_last"]
    args, training = study.llm_arguments(
        study.STUDY_BUDGETS["cpu"], "data", tmp_path / "run", modes, 3, "smollm2-135m", supervision=supervision
    )
    names = ("base_model", "base_model_layers", "max_eval_samples", "rec_head_norm", "lora_r", "head_init", "dtype")
    for name in (*names, "lora_dropout", "supervision", "chunk_items", "context_items"):
        assert getattr(args, name) == getattr(demo_args, name), name
    steps = ("max_steps", "eval_steps", "save_steps", "logging_steps")
    if supervision == "last":
        assert [getattr(training, name) for name in steps] == [getattr(demo_training, name) for name in steps]
    else:  # the study keeps the 140 steps its every_item tables were measured at; the faster demo trains longer
        assert (training.max_steps, training.eval_steps) == (140, 35) and demo_training.max_steps > 140
        assert training.max_tokens_per_batch == demo_training.max_tokens_per_batch == 4096
    for name in ("per_device_train_batch_size", "seed", "learning_rate", "early_stopping_patience"):
        assert getattr(training, name) == getattr(demo_training, name), name
    for name in ("per_device_eval_batch_size", "metric_for_best_model", "pad_to_multiple_of", "compile_layers"):
        assert getattr(training, name) == getattr(demo_training, name), name
    assert args.item_mask_modes == modes == study.table5_modes("hatllm", 3)  # the demo's schedule, made explicit


def test_every_item_runs_record_their_supervision_and_a_mixed_folder_is_refused(tiny):
    output, again = tiny["root"] / "every-item", tiny["root"] / "every-item-again"
    for folder in (output, again):  # twice: deterministic for a fixed seed, as `last` is
        study.run_study(
            tiny["data"],
            folder,
            ["hatllm"],
            [0],
            "tiny",
            base_model=tiny["base"],
            show_progress=False,
            supervision="every_item",
        )
    record = json.loads(study.result_path(output, "hatllm", 0).read_text())
    assert record["supervision"] == "every_item" and record["training"]["global_step"] == 4
    assert json.loads(study.result_path(again, "hatllm", 0).read_text())["test_ranks"] == record["test_ranks"]
    with pytest.raises(ValueError, match="trained with 'every_item' supervision, not 'last'"):
        study.run_study(tiny["data"], output, ["hatllm"], [0], "tiny", base_model=tiny["base"], show_progress=False)


def test_results_record_a_seeded_sample_and_a_folder_of_another_sample_is_refused(finished, tmp_path):
    validation = load_prepared(finished["data"]).splits["validation"]
    record = results(finished["output"])[("hatllm", 0)]
    assert record["sample"] == "examples" and record["samples"]["validation"] == {
        "max_samples": 16,
        "mode": "examples",
        "seed": 0,
    }
    assert record["validation"]["num_examples"] == 16 < len(validation)
    assert record["settings"]["iamrec_arguments"]["eval_sample"] == "examples"  # training selected on the same sample
    with pytest.raises(ValueError, match="evaluated on a 'examples' sample, not 'first'"):
        finished_and_pending(finished["output"], GRID, SEEDS, "tiny", "last", "first")
    unrecorded = tmp_path / "results" / "hatllm" / "seed-0.json"  # written before the sample was recorded
    unrecorded.parent.mkdir(parents=True)
    unrecorded.write_text(json.dumps({key: value for key, value in record.items() if key not in ("sample", "samples")}))
    with pytest.raises(ValueError, match="evaluated on a 'first' sample, not 'examples'"):
        finished_and_pending(tmp_path, ["hatllm"], [0], "tiny", "last")
    assert finished_and_pending(tmp_path, ["hatllm"], [0], "tiny", "last", "first") == ([("hatllm", 0)], [])


def test_same_seeds_give_identical_results(finished):
    again = finished["root"] / "again"
    study.run_study(finished["data"], again, ["hatllm"], [0], "tiny", base_model=finished["base"], show_progress=False)
    first, second = (json.loads(study.result_path(out, "hatllm", 0).read_text()) for out in (finished["output"], again))
    assert second["test_ranks"] == first["test_ranks"]
    assert second["test"] == first["test"] and second["validation"] == first["validation"]
    losses = [[entry.get("loss") for entry in r["training"]["log_history"]] for r in (first, second)]
    assert losses[0] == losses[1] and any(loss is not None for loss in losses[0])


def test_ranks_come_from_the_same_metric_code_as_evaluate_scorer(tiny):
    data = load_prepared(tiny["data"])
    popular = MostPopular(len(data.titles)).fit(data.splits["train"])
    metrics, ranks = study.rank_split(popular, data.splits["test"], len(data.titles), EvaluationPolicy(), 5)
    expected = evaluate_scorer(popular, data.splits["test"], len(data.titles), show_progress=False)["metrics"]
    assert metrics == expected and len(ranks) == len(data.splits["test"])


def test_user_errors_are_one_line(tiny, capsys):
    assert main(["study", "--grid", "hatlm", "--data-dir", str(tiny["data"])]) == 2
    assert "Unknown grid or configuration 'hatlm'" in capsys.readouterr().err
    assert main(["study", "--data-dir", str(tiny["data"]), "--budget", "tiny", "--output-dir", "x"]) == 1
    assert "has no base model of its own" in capsys.readouterr().err
    assert main(["study", "--budget", "tiny"]) == 2
    assert "--data-dir is required" in capsys.readouterr().err
