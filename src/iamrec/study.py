"""The quality study: a grid of named configurations x seeds, each run trained, evaluated, recorded and summarised.

One run is (configuration, seed). It trains (an LLM configuration through `train.train` with the configuration's
per-layer `item_mask_modes`; SASRec through `SASRec.fit`; MostPopular through `.fit`), ranks the validation and test
examples with the same metric code and the default `EvaluationPolicy()`, and writes `results/<configuration>/seed-<seed>
.json` atomically as soon as it ends. A rerun skips every run whose result file is complete, so a killed or time-boxed
study continues where it stopped. `summarize` turns the finished runs into `summary.json` and `summary.md`: mean and
standard deviation over seeds, and a paired bootstrap of every configuration against `full` on per-example test
NDCG@10.

Configurations (`CONFIGURATIONS`): `full` (plain causal attention in every layer: BIGRec with an embedding head, the
reference), `hatllm`, `iam`, HatLLM's Table-5 schedule variants (`table5_modes`), and the baselines `most_popular` and
`sasrec`. Grids (`GRIDS`): `main` and `ablations`. Budgets (`BUDGETS`): `cpu`, `gpu` and `tiny`.
"""

import hashlib
import json
import logging
import math
import multiprocessing
import os
import platform
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm
from transformers import TrainerCallback

from .arguments import IAMRecArguments, RecTrainingArguments
from .configuration_iamrec import iam_schedule
from .demo import BUDGETS as DEMO_BUDGETS
from .evaluation import EvaluationPolicy, ModelScorer, MostPopular, RankingAccumulator, metrics_from_ranks
from .evaluation.runner import iter_example_batches

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------------------
# Configurations and grids

MODE_OF = {"IN": "intra", "OR": "full", "CR": "inter_last", "CR-pre": "inter"}
"""HatLLM's module names (section 4) as our attention modes: IN = intra-item attention (eq. 3), OR = the original
causal attention, CR = cross-item attention over the items' last tokens (eq. 5), CR-pre = the first cross-item design
that masks all intra-item attention (eq. 4)."""

PAPER_LAYERS, PAPER_SHALLOW, PAPER_DEEP = 28, 4, 1
"""The depth the block sizes are scaled from: HatLLM's backbone (LLaMA3-3B, 28 layers, section 5.1.4) with 4 shallow
and 1 deep layer (its tuned ranges are {1, 4, 8, 12, 16} shallow, {1..5} deep; 4 shallow and 1-3 deep are best,
section 5.4). At 30 layers this gives the library's `hatllm_schedule` default (4, 25, 1); at 3 layers the demo's
(1, 1, 1)."""

LABELS = {
    "full": "BIGRec (OR in every layer)",
    "hatllm": "HatLLM (IN-OR-CR)",
    "iam": "IAM (intra, then inter)",
    "wo_in": "w/o IN",
    "wo_or": "w/o OR",
    "wo_cr": "w/o CR",
    "cr_pre": "CR->CR-pre",
    "in_cr_or": "IN-CR-OR",
    "or_in_cr": "OR-IN-CR",
    "or_cr_in": "OR-CR-IN",
    "cr_in_or": "CR-IN-OR",
    "cr_or_in": "CR-OR-IN",
    "most_popular": "MostPopular",
    "sasrec": "SASRec",
}
"""Each configuration's name in the papers (Table 5's row names for the ablations)."""

TABLE5_VARIANTS = ("wo_in", "wo_or", "wo_cr", "cr_pre", "in_cr_or", "or_in_cr", "or_cr_in", "cr_in_or", "cr_or_in")
LLM_CONFIGURATIONS = ("full", "hatllm", "iam", *TABLE5_VARIANTS)
BASELINE_CONFIGURATIONS = ("most_popular", "sasrec")
CONFIGURATIONS = (*LLM_CONFIGURATIONS, *BASELINE_CONFIGURATIONS)
REFERENCE = "full"
"""Every configuration is compared with this one (paired, per example)."""

GRIDS = {
    "main": ("full", "hatllm", "iam", "most_popular", "sasrec"),
    "ablations": ("full", "hatllm", *TABLE5_VARIANTS),  # Table 5's BIGRec and HatLLM rows, then its variants
}


def block_sizes(num_layers: int) -> tuple[int, int, int]:
    """(shallow, middle, deep) layer counts for a model of `num_layers` layers: 4 and 1 of HatLLM's 28 scaled to depth
    (rounded half up, at least 1 each), the middle block the rest (empty for a 2-layer model)."""
    if num_layers < 2:
        raise ValueError(f"The HatLLM schedules need at least 2 layers, got {num_layers}.")
    shallow = max(1, math.floor(PAPER_SHALLOW * num_layers / PAPER_LAYERS + 0.5))
    deep = max(1, math.floor(PAPER_DEEP * num_layers / PAPER_LAYERS + 0.5))
    return shallow, num_layers - shallow - deep, deep


def table5_modes(configuration: str, num_layers: int) -> list[str]:
    """The per-layer `item_mask_modes` of an LLM configuration for a model of `num_layers` layers.

    With (a, b, c) = `block_sizes(num_layers)` (shallow, middle, deep; (1, 4, 1) at 6 layers, (4, 25, 1) at 30), the
    variants of HatLLM's ablation study (arXiv 2510.10955, section 5.3 and Table 5) are:

    - `hatllm`: IN^a OR^b CR^c, "IN in the shallow layers, OR in the middle layers, CR in the deep layers".
    - `wo_in`, `wo_cr` ("shallow Intra-item Attention layers (w/o IN) ... and deep cross-item Attention layers
      (w/o CR) are removed"): the module's mask is dropped and its layers attend as originally (OR), keeping the
      depth: OR^(a+b) CR^c and IN^a OR^(b+c).
    - `wo_or` ("middle orignal Attention layers (w/o OR) ... removed"): without OR the masked blocks meet; the paper
      does not say where, so the middle block goes half to each neighbour: IN^(a + b//2) CR^(c + b - b//2). (This is
      our reading; literally deleting layers would change the model's size, which no other variant does.)
    - `cr_pre` ("CR->CR-pre": "the initial cross-item attention design (cf. eq.(4))"): IN^a OR^b CR-pre^c, where
      CR-pre (eq. 4) masks every intra-item pair of item tokens (our `inter`), not only non-last tokens.
    - the permuted orders `in_cr_or`, `or_in_cr`, `or_cr_in`, `cr_in_or`, `cr_or_in` ("we permute the order of three
      typical layers ... 'IN-CR-OR' means using IN in the shallow layers, CR in the middle layers, and OR in the deep
      layers"): the three positions keep their sizes (a shallow, b middle, c deep) and the named modules fill them
      in order; e.g. IN-CR-OR = IN^a CR^b OR^c.

    Also `full` (OR in every layer: BIGRec, Table 5's first row) and `iam` (`iam_schedule`: intra in the first half,
    inter in the second).

    Caveat: masks apply only between item tokens and the score is read at the final prompt token, so the last layer's
    mode never changes the scores (measured on the tiny fixtures: `hatllm` [intra, inter_last] and `iam` [intra,
    inter] give identical ranks). With a deep block of one layer (c = 1 below 42 layers), `wo_cr` and `cr_pre`
    therefore score exactly like `hatllm` (and `wo_in` like `full`), and the last layer's module in the permuted
    orders counts only when c >= 2. A study meant to measure CR needs a deep block of at least 2 layers.
    """
    if configuration == "full":
        return ["full"] * num_layers
    if configuration == "iam":
        return iam_schedule(num_layers)
    a, b, c = block_sizes(num_layers)
    blocks = {
        "hatllm": [("IN", a), ("OR", b), ("CR", c)],
        "wo_in": [("OR", a + b), ("CR", c)],
        "wo_or": [("IN", a + b // 2), ("CR", c + b - b // 2)],
        "wo_cr": [("IN", a), ("OR", b + c)],
        "cr_pre": [("IN", a), ("OR", b), ("CR-pre", c)],
    }
    if configuration in blocks:
        layout = blocks[configuration]
    elif configuration in TABLE5_VARIANTS:  # a permutation: module names in position order
        layout = list(zip((part.upper() for part in configuration.split("_")), (a, b, c)))
    else:
        raise ValueError(f"{configuration!r} is not an LLM configuration; choose from {list(LLM_CONFIGURATIONS)}.")
    return [MODE_OF[module] for module, count in layout for _ in range(count)]


def resolve_grid(names: Sequence[str]) -> list[str]:
    """Grid names (`main`, `ablations`) and configuration names, expanded in order, each once."""
    configurations = []
    for name in names:
        if name in GRIDS:
            configurations.extend(GRIDS[name])
        elif name in CONFIGURATIONS:
            configurations.append(name)
        else:
            raise ValueError(f"Unknown grid or configuration {name!r}; choose {list(GRIDS)} or {list(CONFIGURATIONS)}.")
    return list(dict.fromkeys(configurations))


# ---------------------------------------------------------------------------------------------------------------------
# Budgets


@dataclass(frozen=True)
class StudyBudget:
    """How much each run may train and on how many examples it is evaluated."""

    description: str
    base_model: str | None  # None: the caller names it (`--base-model`)
    base_model_layers: int | None  # None: every layer of the base model
    max_steps: int
    eval_steps: int
    early_stopping_patience: int
    max_eval_samples: int | None  # validation: the first N examples (the split is time-ordered); None: all
    max_test_samples: int | None  # test: the first N examples; None: all
    batch_size: int
    eval_batch_size: int
    learning_rate: float
    rec_head_norm: str
    sasrec: dict[str, Any] = field(default_factory=dict)  # SASRecConfig fields; empty: its HatLLM-like defaults


_DEMO = DEMO_BUDGETS["default"]
BUDGETS = {
    "cpu": StudyBudget(
        description="the demo's default budget: SmolLM2-135M truncated to 3 layers, 300 steps of batch 16 at lr 1e-3 "
        "(validation every 100 steps on the first 1,000 validation examples, best checkpoint kept), the whole test "
        "split; SASRec with its defaults",
        base_model="smollm2-135m",
        base_model_layers=_DEMO.base_model_layers,
        max_steps=_DEMO.max_steps,
        eval_steps=_DEMO.eval_steps,
        early_stopping_patience=RecTrainingArguments.early_stopping_patience,
        max_eval_samples=_DEMO.max_eval_samples,
        max_test_samples=_DEMO.max_test_samples,
        batch_size=_DEMO.batch_size,
        eval_batch_size=RecTrainingArguments.per_device_eval_batch_size,
        learning_rate=_DEMO.learning_rate,
        rec_head_norm="batch",
    ),
    "gpu": StudyBudget(
        description="HatLLM 5.1.4 on one GPU: the whole 30-layer SmolLM2-135M, batch 32, lr 1e-3, at most 1,600 "
        "steps, validation every 100 steps on the whole validation split, early stopping on NDCG@10 with patience 2; "
        "the paper's plain head",
        base_model="smollm2-135m",
        base_model_layers=None,
        max_steps=1600,
        eval_steps=100,
        early_stopping_patience=2,
        max_eval_samples=None,
        max_test_samples=None,
        batch_size=32,
        eval_batch_size=64,
        learning_rate=1e-3,
        rec_head_norm="none",
    ),
    "tiny": StudyBudget(
        description="a smoke run for tests on the tiny fixtures (pass the base model): 4 steps of batch 4, 16 "
        "validation and 64 test examples, a 2-epoch SASRec",
        base_model=None,
        base_model_layers=None,
        max_steps=4,
        eval_steps=2,
        early_stopping_patience=2,
        max_eval_samples=16,
        max_test_samples=64,
        batch_size=4,
        eval_batch_size=8,
        learning_rate=5e-3,
        rec_head_norm="batch",
        sasrec={
            "embedding_dim": 16,
            "num_heads": 1,
            "feedforward_dim": 16,
            "batch_size": 32,
            "max_epochs": 2,
            "patience": 1,
            "eval_batch_size": 64,
        },
    ),
}


def llm_arguments(
    budget: StudyBudget,
    data_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    modes: list[str],
    seed: int,
    base_model: str,
) -> tuple[IAMRecArguments, RecTrainingArguments]:
    """The `train` arguments of one LLM run: the budget's, with the configuration's explicit per-layer modes."""
    args = IAMRecArguments(
        data_dir=str(data_dir),
        base_model=base_model,
        base_model_layers=budget.base_model_layers,
        item_mask_modes=list(modes),
        max_eval_samples=budget.max_eval_samples,
        rec_head_norm=budget.rec_head_norm,
    )
    training_args = RecTrainingArguments(
        output_dir=str(output_dir),
        max_steps=budget.max_steps,
        eval_steps=budget.eval_steps,
        save_steps=budget.eval_steps,
        logging_steps=max(1, budget.eval_steps // 5),
        early_stopping_patience=budget.early_stopping_patience,
        seed=seed,
        per_device_train_batch_size=budget.batch_size,
        per_device_eval_batch_size=budget.eval_batch_size,
        learning_rate=budget.learning_rate,
        overwrite_output_dir=True,  # a run killed before its result was written starts again from step 0
        disable_tqdm=True,
        report_to="none",
    )
    return args, training_args


def sasrec_classes():
    """The SASRec baseline, imported here only: `iamrec.evaluation.sasrec` once it moves there, else `iamrec.sasrec`."""
    try:
        from .evaluation.sasrec import SASRec, SASRecConfig
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.evaluation.sasrec":
            raise
        from .sasrec import SASRec, SASRecConfig

    return SASRec, SASRecConfig


# ---------------------------------------------------------------------------------------------------------------------
# One run

RESULTS_DIR, WORK_DIR = "results", "work"
SUMMARY_JSON, SUMMARY_MD = "summary.json", "summary.md"
RESULT_FORMAT = 1


def result_path(output_dir: Path, configuration: str, seed: int) -> Path:
    return Path(output_dir) / RESULTS_DIR / configuration / f"seed-{seed}.json"


def write_json_atomic(path: Path, value: Any) -> None:
    """Writes a temporary file beside `path` and renames it into place: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(json.dumps(value, indent=1, default=str) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_result(path: Path) -> dict[str, Any] | None:
    """The result at `path` if it is complete (valid JSON, marked complete, one test rank per test example)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("complete") is not True:
        return None
    if len(record.get("test_ranks", [])) != record.get("test", {}).get("num_examples"):
        return None
    return record


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
    """Every example's target rank (the same `RankingAccumulator` as `evaluate_scorer`) and the metrics."""
    accumulator = RankingAccumulator(policy=policy, num_items=num_items)
    for examples in iter_example_batches(dataset, batch_size):
        histories = [example["history"] for example in examples] if policy.exclude_history else None
        accumulator.update(scorer(examples), [example["target"] for example in examples], histories)
    ranks = accumulator.ranks
    return metrics_from_ranks(ranks), [int(rank) for rank in ranks]


def first(dataset, count: int | None):
    return dataset if count is None else dataset.select(range(min(count, len(dataset))))


def targets_digest(dataset) -> str:
    """Identifies the test examples, so that only runs on the same examples are paired."""
    return hashlib.sha256(json.dumps([int(target) for target in dataset["target"]]).encode()).hexdigest()[:16]


def device_name(device: str) -> str:
    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name()})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def num_base_layers(base_model: str, layers: int | None) -> int:
    from .pretrained import resolve_base_model

    path = Path(resolve_base_model(base_model, layers))
    return json.loads((path / "config.json").read_text())["num_hidden_layers"]


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


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Trains and evaluates one (configuration, seed) and writes its result file; returns the record."""
    from .data import load_prepared
    from .inference import Recommender
    from .train import train

    started = time.time()
    budget, policy = BUDGETS[spec.budget], EvaluationPolicy()
    if spec.torch_threads is not None:
        torch.set_num_threads(spec.torch_threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = load_prepared(spec.data_dir)
    num_items = len(data.titles)
    validation = first(data.splits["validation"], budget.max_eval_samples)
    test = first(data.splits["test"], budget.max_test_samples)
    work_dir = Path(spec.output_dir) / WORK_DIR / spec.configuration / f"seed-{spec.seed}"
    settings: dict[str, Any] = {
        "budget": {"name": spec.budget, **asdict(budget)},
        "data_dir": str(spec.data_dir),
        "num_items": num_items,
        "evaluation_policy": policy.to_dict(),
    }
    training: dict[str, Any] = {"best_step": None, "best_epoch": None, "stopped_early": False, "stop_reason": None}
    modes = None
    if spec.configuration == "most_popular":
        scorer = MostPopular(num_items).fit(data.splits["train"])
    elif spec.configuration == "sasrec":
        SASRec, SASRecConfig = sasrec_classes()
        config = SASRecConfig(**budget.sasrec)
        settings["sasrec_config"] = asdict(config)
        scorer = SASRec.fit(
            data.splits["train"],
            validation,
            num_items,
            config=config,
            seed=spec.seed,
            device=device,
            policy=policy,
            show_progress=False,
        )
        epochs = len(scorer.epoch_log)
        training.update(best_epoch=scorer.best_epoch, epochs=epochs, epoch_log=scorer.epoch_log)
        training["stop_reason"] = "early_stopping" if epochs < config.max_epochs else "max_epochs"
    else:
        modes = table5_modes(spec.configuration, num_base_layers(spec.base_model, budget.base_model_layers))
        args, training_args = llm_arguments(budget, spec.data_dir, work_dir, modes, spec.seed, spec.base_model)
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
            training["stop_reason"] = "early_stopping" if result.global_step < budget.max_steps else "max_steps"
        recommender = Recommender.from_pretrained(result.model_dir, device=device)
        scorer = ModelScorer(recommender.model, recommender.processor.collator(), name=spec.configuration)
    validation_metrics, _ = rank_split(scorer, validation, num_items, policy, budget.eval_batch_size)
    test_metrics, ranks = rank_split(scorer, test, num_items, policy, budget.eval_batch_size)
    record = {
        "format": RESULT_FORMAT,
        "complete": True,
        "configuration": spec.configuration,
        "label": LABELS[spec.configuration],
        "seed": spec.seed,
        "budget": spec.budget,
        "item_mask_modes": modes,
        "test": {"metrics": test_metrics, "num_examples": len(test), "targets": targets_digest(test)},
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
        "settings": settings,
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
) -> StudyReport:
    """Runs every (configuration, seed) without a complete result in `output_dir`, then writes the summary.

    Args:
        configurations: names of `CONFIGURATIONS` (or grids, see `resolve_grid`).
        budget: a key of `BUDGETS`.
        budget_minutes: no run starts after this many minutes, and a running LLM training stops then (it is
            evaluated and recorded as stopped early); SASRec and MostPopular are not interrupted. None: no limit.
        parallel: worker processes (spawned), each with `max(1, os.cpu_count() // parallel)` torch threads. Results
            are deterministic for a fixed seed and thread count; a different thread count sums in another order and
            can change them (the tiny budget: test NDCG@10 0.190 with 1 thread, 0.179 with 2), so keep `parallel`
            fixed within a study (result files and the summary record the thread count).
        base_model: overrides the budget's base model (required by `tiny`).
        keep_models: keep each LLM run's trained model and checkpoints under `work/` (deleted by default).
    """
    if budget not in BUDGETS:
        raise ValueError(f"Unknown budget {budget!r}; choose from {list(BUDGETS)}.")
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}.")
    if budget_minutes is not None and budget_minutes < 0:
        raise ValueError(f"budget_minutes must not be negative, got {budget_minutes}.")
    configurations, seeds = resolve_grid(configurations), list(dict.fromkeys(int(seed) for seed in seeds))
    if not seeds:
        raise ValueError("Give at least one seed.")
    base_model = base_model or BUDGETS[budget].base_model
    if base_model is None:
        raise ValueError(f"The {budget!r} budget has no base model of its own; pass base_model (--base-model).")
    from .folders import check_prepared_dir

    check_prepared_dir(Path(data_dir))
    output_dir = Path(output_dir)
    deadline = None if budget_minutes is None else time.time() + 60 * budget_minutes
    skipped, pending = [], []
    for configuration in configurations:
        for seed in seeds:
            record = read_result(result_path(output_dir, configuration, seed))
            if record is not None and record["budget"] != budget:
                raise ValueError(
                    f"{result_path(output_dir, configuration, seed)} holds a run of the {record['budget']!r} budget, "
                    f"not {budget!r}; use another output folder."
                )
            (skipped if record is not None else pending).append((configuration, seed))
    threads = max(1, (os.cpu_count() or 1) // parallel) if parallel > 1 else None
    specs = [
        RunSpec(c, s, str(data_dir), str(output_dir), budget, base_model, deadline, keep_models, threads)
        for c, s in pending
    ]
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
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=parallel, mp_context=context) as pool:
            futures = [pool.submit(execute, spec) for spec in specs]
            for future in as_completed(futures):
                record_outcome(future.result())
    bar.close()
    order = {key: index for index, key in enumerate(pending)}
    not_started.sort(key=order.__getitem__)
    finished.sort(key=order.__getitem__)
    summary, markdown = summarize(output_dir, configurations)
    report = StudyReport(finished, skipped, not_started, summary, markdown)
    if not specs:
        logger.info("Every run already has a complete result in %s.", output_dir)
    if not_started and not finished:
        logger.warning("No run started: the time budget of %s minute(s) ended first.", budget_minutes)
    return report


# ---------------------------------------------------------------------------------------------------------------------
# Summary


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


def mean_std(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and sample standard deviation (n - 1; None for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else None}


SUMMARY_METRICS = (("test", "HR@10"), ("test", "NDCG@10"), ("test", "MRR"), ("validation", "NDCG@10"))


def load_results(output_dir: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """Every complete result under `output_dir`, by configuration and seed."""
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted((Path(output_dir) / RESULTS_DIR).glob("*/seed-*.json")):
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
    order += [name for name in CONFIGURATIONS if name in results and name not in order]
    rows = {}
    for name in order:
        runs = results[name]
        seeds = sorted(runs)
        rows[name] = {
            "label": LABELS[name],
            "seeds": seeds,
            "stopped_early": [seed for seed in seeds if runs[seed]["training"].get("stopped_early")],
            **{
                f"{split}_{metric}": mean_std([runs[seed][split]["metrics"][metric] for seed in seeds])
                for split, metric in SUMMARY_METRICS
            },
        }
    comparisons = {}
    reference = results.get(REFERENCE, {})
    for name in order:
        if name == REFERENCE:
            continue
        common = sorted(set(results[name]) & set(reference))
        if not common:
            continue
        digests = {results[name][seed]["test"]["targets"] for seed in common} | {
            reference[seed]["test"]["targets"] for seed in common
        }
        if len(digests) != 1:
            raise ValueError(f"{name} and {REFERENCE} were tested on different examples; they cannot be paired.")
        ours = np.mean([ndcg_per_example(results[name][seed]["test_ranks"]) for seed in common], axis=0)
        theirs = np.mean([ndcg_per_example(reference[seed]["test_ranks"]) for seed in common], axis=0)
        comparisons[name] = {"seeds": common, **paired_bootstrap(ours, theirs, resamples=resamples)}
    budgets = sorted({run["budget"] for runs in results.values() for run in runs.values()})
    threads = sorted({run["torch_threads"] for runs in results.values() for run in runs.values()})
    summary = {
        "budgets": budgets,
        "torch_threads": threads,  # floating-point sums, hence results, depend on it: keep `parallel` fixed
        "reference": REFERENCE,
        "metric_of_comparison": "per-example test NDCG@10, averaged over the common seeds",
        "resamples": resamples,
        "configurations": rows,
        "comparisons": comparisons,
    }
    markdown = format_markdown(summary)
    write_json_atomic(output_dir / SUMMARY_JSON, summary)
    temporary = output_dir / f".{SUMMARY_MD}.tmp-{os.getpid()}"
    temporary.write_text(markdown)
    os.replace(temporary, output_dir / SUMMARY_MD)
    return summary, markdown


def format_markdown(summary: dict[str, Any]) -> str:
    def cell(value: dict[str, float | None]) -> str:
        return f"{value['mean']:.4f}" + (f" ± {value['std']:.4f}" if value["std"] is not None else "")

    if not summary["configurations"]:
        return "No finished runs yet.\n"
    lines = [
        f"Budget: {', '.join(summary['budgets'])}; torch threads per run: "
        f"{', '.join(map(str, summary['torch_threads']))}"
        + (" (mixed: results of one seed differ between thread counts)" if len(summary["torch_threads"]) > 1 else "")
        + ". Mean ± sample std over seeds.",
        "",
        "| configuration | paper | seeds | test HR@10 | test NDCG@10 | test MRR | val NDCG@10 | stopped early |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in summary["configurations"].items():
        metrics = " | ".join(cell(row[f"{split}_{metric}"]) for split, metric in SUMMARY_METRICS)
        seeds = ",".join(map(str, row["seeds"]))
        stopped = ",".join(map(str, row["stopped_early"])) or "-"
        lines.append(f"| {name} | {row['label']} | {seeds} | {metrics} | {stopped} |")
    if summary["comparisons"]:
        lines += [
            "",
            f"Paired against `{summary['reference']}` on {summary['metric_of_comparison']}; 95% bootstrap CI over "
            f"examples ({summary['resamples']:,} resamples, seed 0), two-sided bootstrap p.",
            "",
            "| configuration | seeds | examples | mean diff | 95% CI | p | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, test in summary["comparisons"].items():
            verdict = "within noise" if test["within_noise"] else ("better" if test["mean_difference"] > 0 else "worse")
            lines.append(
                f"| {name} | {','.join(map(str, test['seeds']))} | {test['num_examples']} | "
                f"{test['mean_difference']:+.4f} | [{test['ci_low']:+.4f}, {test['ci_high']:+.4f}] | "
                f"{test['p_value']:.4f} | {verdict} |"
            )
    return "\n".join(lines) + "\n"
