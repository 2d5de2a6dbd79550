"""One study run (train, rank validation and test, write the result atomically) and the study loop: skips finished
runs, honours the deadline, runs in parallel processes."""

import hashlib
import json
import logging
import multiprocessing
import os
import platform
import shutil
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm
from transformers import TrainerCallback

from ..atomic import write_json_atomic
from ..baselines import BASELINES, BaselineSettings
from ..comparison import fit_baseline, model_scorer
from ..data.cold_start import COLD_AMONG_COLD, COLD_SPLIT
from ..data.subsets import Sample
from ..evaluation import CandidateScorer, EvaluationPolicy, metrics_from_ranks, rank_targets
from ..folders import CONFIG_FILE, STUDY_WORK_DIR
from ..locks import folder_lock
from ..tokenization.collator import Supervision, check_supervision
from ..training.budgets import STUDY_BUDGETS
from .grid import GRIDS, label, llm_arguments, model_arguments, resolve_grid, table5_modes
from .results import RESULT_FORMAT, read_result, result_path
from .summary import summarize

logger = logging.getLogger(__name__)


class DeadlineCallback(TrainerCallback):
    """Stops training at the first step that ends after `deadline` (seconds since the epoch); training then ends
    normally (best checkpoint, merge, save), so the run is evaluated and recorded as stopped early."""

    def __init__(self, deadline: float | None):
        self.deadline = deadline
        self.stopped_at_step: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if self.deadline is not None and time.time() >= self.deadline and state.global_step < state.max_steps:
            control.should_training_stop = True
            self.stopped_at_step = state.global_step
        return control


def rank_split(scorer, dataset, num_items: int, policy: EvaluationPolicy, batch_size: int):
    """The metrics and every example's target rank (`rank_targets`, as `evaluate_scorer` ranks), for result files."""
    ranks = rank_targets(scorer, dataset, num_items, policy, batch_size)
    return metrics_from_ranks(ranks), ranks.tolist()


def targets_digest(dataset) -> str:
    """Identifies the test examples, so that only runs on the same examples are paired."""
    return hashlib.sha256(json.dumps([int(target) for target in dataset["target"]]).encode()).hexdigest()[:16]


def device_name(device: str) -> str:
    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name()})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def num_base_layers(base_model: str, layers: int | None) -> int:
    from ..pretrained import resolve_base_model

    path = Path(resolve_base_model(base_model, layers))
    return json.loads((path / CONFIG_FILE).read_text())["num_hidden_layers"]


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs (picklable, for worker processes)."""

    configuration: str
    seed: int
    data_dir: str
    output_dir: str
    budget: str
    base_model: str
    deadline: float | None = None
    keep_models: bool = False
    torch_threads: int | None = None
    supervision: Supervision = "last"
    sasrec_dir: str | None = None
    sample: str = "examples"  # how capped validation and test subsets are drawn (`data.subsets.SAMPLE_MODES`)


SAMPLE_SEED = 0
"""The seed of the validation and test subsets: the same examples for every configuration and seed of a study, so
runs pair example by example."""
UNRECORDED_SAMPLE = "first"
"""What result files written before the sample was recorded used: the first examples of each time-ordered split."""


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Trains and evaluates one (configuration, seed) and writes its result file; returns the record."""
    from ..data import load_prepared
    from ..training import train

    started = time.time()
    budget, policy = STUDY_BUDGETS[spec.budget], EvaluationPolicy()
    if spec.torch_threads is not None:
        torch.set_num_threads(spec.torch_threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = load_prepared(spec.data_dir)
    num_items = len(data.titles)
    validation_sample = Sample(budget.max_eval_samples, spec.sample, SAMPLE_SEED)
    test_sample = Sample(budget.max_test_samples, spec.sample, SAMPLE_SEED)
    validation, test = validation_sample.of(data.splits["validation"]), test_sample.of(data.splits["test"])
    work_dir = Path(spec.output_dir) / STUDY_WORK_DIR / spec.configuration / f"seed-{spec.seed}"
    settings: dict[str, Any] = {
        "budget": {"name": spec.budget, **asdict(budget)},
        "data_dir": str(spec.data_dir),
        "num_items": num_items,
        "evaluation_policy": policy.to_dict(),
    }
    training: dict[str, Any] = {"best_step": None, "best_epoch": None, "stopped_early": False, "stop_reason": None}
    modes = None
    if spec.configuration in BASELINES:
        options = {"sasrec": budget.sasrec}
        baseline = BaselineSettings(num_items, spec.seed, device, policy, options, show_progress=False)
        scorer, fitted = fit_baseline(spec.configuration, baseline, data.splits["train"], validation)
        if fitted is not None:  # a learned baseline: its settings, and how its training went
            settings.update(fitted.get("settings", {}))
            training.update(fitted.get("training", {}))
    else:
        modes = table5_modes(spec.configuration, num_base_layers(spec.base_model, budget.base_model_layers))
        args, training_args = llm_arguments(
            budget,
            spec.data_dir,
            work_dir,
            modes,
            spec.seed,
            spec.base_model,
            model_arguments(spec.configuration, spec.sasrec_dir),
            spec.supervision,
        )
        # training selects its checkpoint on the validation examples ranked here
        args = replace(args, eval_sample=spec.sample, eval_sample_seed=SAMPLE_SEED)
        settings.update(iamrec_arguments=asdict(args), training_arguments=training_args.to_dict())
        deadline = DeadlineCallback(spec.deadline)
        result = train(args, training_args, policy, callbacks=[deadline])
        best = Path(result.best_checkpoint).name if result.best_checkpoint else None
        training.update(
            best_step=int(best.rsplit("-", 1)[1]) if best else result.global_step,
            global_step=result.global_step,
            best_validation_metric=result.best_metric,
            stopped_early=deadline.stopped_at_step is not None,
            log_history=result.log_history,
        )
        if deadline.stopped_at_step is not None:
            training["stop_reason"] = "deadline"
        else:
            max_steps = training_args.max_steps
            training["stop_reason"] = "early_stopping" if result.global_step < max_steps else "max_steps"
        scorer, _ = model_scorer(result.model_dir, data, name=spec.configuration, device=device)
        if COLD_SPLIT in data.splits:
            # `train` keeps cold items out of the catalog, and a title head saves them as new items (`reset_items`)
            settings["cold_items_held_out_in_training"] = True
            if args.rec_head_type == "text":
                settings["cold_items_scored_as_new"] = True
    validation_metrics, _ = rank_split(scorer, validation, num_items, policy, budget.eval_batch_size)
    test_metrics, ranks = rank_split(scorer, test, num_items, policy, budget.eval_batch_size)
    cold = {}
    if COLD_SPLIT in data.splits:  # data prepared with --cold_items_fraction: the cold-target test examples too
        test_cold = test_sample.of(data.splits[COLD_SPLIT])
        among_cold = CandidateScorer(scorer, data.protocol["cold_items"], num_items)
        for split, split_scorer in ((COLD_SPLIT, scorer), (COLD_AMONG_COLD, among_cold)):
            cold_metrics, cold_ranks = rank_split(split_scorer, test_cold, num_items, policy, budget.eval_batch_size)
            cold[split] = {
                "metrics": cold_metrics,
                "num_examples": len(test_cold),
                "targets": targets_digest(test_cold),
                "ranks": cold_ranks,
            }
    record = {
        "format": RESULT_FORMAT,
        "complete": True,
        "configuration": spec.configuration,
        "label": label(spec.configuration),
        "seed": spec.seed,
        "budget": spec.budget,
        "supervision": spec.supervision if modes is not None else None,
        "item_mask_modes": modes,
        "sample": spec.sample,
        "samples": {"validation": validation_sample.to_dict(), "test": test_sample.to_dict()},
        "test": {"metrics": test_metrics, "num_examples": len(test), "targets": targets_digest(test)},
        **cold,
        "validation": {"metrics": validation_metrics, "num_examples": len(validation)},
        "training": training,
        "wall_seconds": round(time.time() - started, 3),
        "device": device_name(device),
        "torch_threads": torch.get_num_threads(),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "settings": relative_paths(settings),
        "test_ranks": ranks,
    }
    write_json_atomic(result_path(Path(spec.output_dir), spec.configuration, spec.seed), record)
    if not spec.keep_models:
        shutil.rmtree(work_dir, ignore_errors=True)
        for folder in (work_dir.parent, work_dir.parent.parent):  # work/<configuration>/, then work/, when empty
            try:
                folder.rmdir()
            except OSError:
                break
    return record


def relative_paths(value: Any) -> Any:
    """`value` with every absolute path in it made relative to the working directory: result files are shared and
    committed, and a user's folders (home, data, temporary) are no part of a result."""
    if isinstance(value, dict):
        return {key: relative_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [relative_paths(item) for item in value]
    if isinstance(value, str) and os.path.isabs(value):
        return os.path.relpath(value)
    return value


def execute(spec: RunSpec) -> dict[str, Any]:
    """Runs `spec` unless the deadline has passed when it would start (checked here, so queued work obeys it too)."""
    if spec.deadline is not None and time.time() >= spec.deadline:
        return {"configuration": spec.configuration, "seed": spec.seed, "status": "not_started"}
    record = run_one(spec)
    return {"configuration": spec.configuration, "seed": spec.seed, "status": "finished", "record": record}


# ---------------------------------------------------------------------------------------------------------------------
# The study


@dataclass
class StudyReport:
    finished: list[tuple[str, int]]
    skipped: list[tuple[str, int]]  # complete results found on disk
    not_started: list[tuple[str, int]]  # the deadline passed first
    summary: dict[str, Any]
    markdown: str

    @property
    def message(self) -> str:
        lines = [f"{len(self.finished)} run(s) finished, {len(self.skipped)} already complete (skipped)."]
        if self.not_started:
            lines.append(
                f"The time budget ended: {len(self.not_started)} run(s) not started: "
                + ", ".join(f"{name}/seed-{seed}" for name, seed in self.not_started)
                + "; run the same command again to continue."
            )
        return "\n".join(lines)


def run_study(
    data_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    configurations: Sequence[str] = GRIDS["main"],
    seeds: Sequence[int] = (0, 1, 2),
    budget: str = "cpu",
    budget_minutes: float | None = None,
    parallel: int = 1,
    base_model: str | None = None,
    keep_models: bool = False,
    show_progress: bool = True,
    supervision: Supervision = "last",
    sasrec_dir: str | os.PathLike | None = None,
    sample: str = "examples",
) -> StudyReport:
    """Runs every (configuration, seed) without a complete result in `output_dir`, then writes the summary.

    Args:
        configurations: names of `CONFIGURATIONS` (or grids, see `resolve_grid`).
        budget: a key of `STUDY_BUDGETS`.
        budget_minutes: no run starts after this many minutes, and a running LLM training stops then (it is
            evaluated and recorded as stopped early); SASRec and MostPopular are not interrupted. None: no limit.
        parallel: worker processes (spawned), each with `max(1, os.cpu_count() // parallel)` torch threads. Results
            are deterministic for a fixed seed and thread count; a different thread count sums in another order and
            can change them (the tiny budget: test NDCG@10 0.190 with 1 thread, 0.179 with 2), so keep `parallel`
            fixed within a study (result files and the summary record the thread count).
        base_model: overrides the budget's base model (required by `tiny`).
        keep_models: keep each LLM run's trained model and checkpoints under `work/` (deleted by default).
        supervision: how LLM runs train: `last` (one prompt per target) or `every_item` (every item of a sequence,
            for the budget's `every_item_steps`); evaluation is the same either way.
        sasrec_dir: a SASRec saved on the same data, whose item table `hatllm_ids_sasrec` starts from.
        sample: how a budget's capped validation and test subsets are drawn (`data.subsets.SAMPLE_MODES`): a seeded
            sample of examples (the default) or of users, the same for every run; `first` takes the time-ordered
            prefix that results written before the choice was recorded used.
    """
    if budget not in STUDY_BUDGETS:
        raise ValueError(f"Unknown budget {budget!r}; choose from {list(STUDY_BUDGETS)}.")
    check_supervision(supervision)
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}.")
    if budget_minutes is not None and budget_minutes < 0:
        raise ValueError(f"budget_minutes must not be negative, got {budget_minutes}.")
    Sample(None, sample)  # refuses an unknown mode
    configurations, seeds = resolve_grid(configurations), list(dict.fromkeys(int(seed) for seed in seeds))
    if not seeds:
        raise ValueError("Give at least one seed.")
    for configuration in configurations:  # refuses a configuration that cannot run before any other starts
        if configuration not in BASELINES:
            model_arguments(configuration, sasrec_dir)
    base_model = base_model or STUDY_BUDGETS[budget].base_model
    if base_model is None:
        raise ValueError(f"The {budget!r} budget has no base model of its own; pass base_model (--base-model).")
    from ..folder_checks import check_prepared_dir

    check_prepared_dir(Path(data_dir))
    output_dir = Path(output_dir)
    with folder_lock(output_dir, "iamrec study"):  # a second study here would mix its results with these
        deadline = None if budget_minutes is None else time.time() + 60 * budget_minutes
        skipped, pending = finished_and_pending(output_dir, configurations, seeds, budget, supervision, sample)
        llm_pending = [name for name in dict.fromkeys(name for name, _ in pending) if name not in BASELINES]
        if llm_pending:  # refuses a model too shallow for a configuration's blocks before any run starts
            num_layers = num_base_layers(base_model, STUDY_BUDGETS[budget].base_model_layers)
            for configuration in llm_pending:
                table5_modes(configuration, num_layers)
        threads = max(1, (os.cpu_count() or 1) // parallel) if parallel > 1 else None
        specs = [
            RunSpec(
                c,
                s,
                str(data_dir),
                str(output_dir),
                budget,
                base_model,
                deadline,
                keep_models,
                threads,
                supervision,
                None if sasrec_dir is None else str(Path(sasrec_dir).resolve()),
                sample,
            )
            for c, s in pending
        ]
        finished, not_started = execute_all(specs, parallel, show_progress)
        order = {key: index for index, key in enumerate(pending)}
        not_started.sort(key=order.__getitem__)
        finished.sort(key=order.__getitem__)
        summary, markdown = summarize(output_dir, configurations)
    if not specs:
        logger.info("Every run already has a complete result in %s.", output_dir)
    if not_started and not finished:
        logger.warning("No run started: the time budget of %s minute(s) ended first.", budget_minutes)
    return StudyReport(finished, skipped, not_started, summary, markdown)


def finished_and_pending(
    output_dir: Path,
    configurations: Sequence[str],
    seeds: Sequence[int],
    budget: str,
    supervision: Supervision,
    sample: str = "examples",
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The (configuration, seed) pairs with a complete result in `output_dir`, and those still to run; refuses a
    folder holding results of another budget, supervision or sample (where the budget caps its subsets)."""
    capped = STUDY_BUDGETS[budget].max_eval_samples is not None or STUDY_BUDGETS[budget].max_test_samples is not None
    skipped, pending = [], []
    for configuration in configurations:
        for seed in seeds:
            record = read_result(result_path(output_dir, configuration, seed))
            if record is not None and record["budget"] != budget:
                raise ValueError(
                    f"{result_path(output_dir, configuration, seed)} holds a run of the {record['budget']!r} budget, "
                    f"not {budget!r}; use another output folder."
                )
            recorded = record.get("supervision") or "last" if record is not None else supervision
            if record is not None and record["item_mask_modes"] is not None and recorded != supervision:
                raise ValueError(
                    f"{result_path(output_dir, configuration, seed)} holds a run trained with {recorded!r} "
                    f"supervision, not {supervision!r}; use another output folder."
                )
            recorded_sample = record.get("sample", UNRECORDED_SAMPLE) if record is not None else sample
            if capped and recorded_sample != sample:
                raise ValueError(
                    f"{result_path(output_dir, configuration, seed)} holds a run evaluated on a {recorded_sample!r} "
                    f"sample, not {sample!r}; use another output folder (or --sample {recorded_sample} to go on "
                    "with that one)."
                )
            (skipped if record is not None else pending).append((configuration, seed))
    return skipped, pending


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned worker processes that end with the study: each watches its parent and exits once it is gone (killed,
    even by SIGKILL, which runs no clean-up), instead of training on and writing results for nobody."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),))


def watch_parent(parent: int, interval: float = 1.0) -> None:
    """Starts a thread that ends this process as soon as `parent` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # no clean-up: the results this worker would write belong to a study that is gone

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def execute_all(
    specs: list[RunSpec], parallel: int, show_progress: bool
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Runs `specs` here or in `parallel` worker processes; returns the finished and the not started runs."""
    finished, not_started = [], []
    bar = tqdm(total=len(specs), desc="Study runs", unit="run", disable=not show_progress)

    def record_outcome(outcome: dict[str, Any]) -> None:
        key = (outcome["configuration"], outcome["seed"])
        (finished if outcome["status"] == "finished" else not_started).append(key)
        bar.set_postfix_str(f"{key[0]}/seed-{key[1]} {outcome['status']}")
        bar.update()

    if parallel == 1 or len(specs) <= 1:
        for spec in specs:
            record_outcome(execute(spec))
    else:
        with worker_pool(parallel) as pool:
            futures = [pool.submit(execute, spec) for spec in specs]
            for future in as_completed(futures):
                record_outcome(future.result())
    bar.close()
    return finished, not_started
