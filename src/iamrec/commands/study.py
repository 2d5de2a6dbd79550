"""`iamrec study`: a grid of configurations x seeds, trained, evaluated and summarised (or only summarised)."""

from dataclasses import dataclass, field
from typing import Literal

from ..flags import flag
from ..tokenization.collator import Supervision
from . import parse_flags


@dataclass
class StudyArguments:
    """Trains and evaluates every (configuration, seed) of a grid, one result file per run (a rerun skips the finished
    ones), and writes summary.md and summary.json: mean ± std over seeds and paired bootstraps against
    `full` on test (or `hatllm` where `full` did not run) and against `random` on test_cold."""

    data_dir: str | None = flag(None, help="A folder written by `iamrec prepare`.")
    output_dir: str = flag("runs/study", help="Where results/, work/ and the summary go.")
    grid: list[str] = flag(
        ["main"],
        help="main (full, hatllm, iam, most_popular, sasrec), ablations (full, hatllm and HatLLM's Table-5 "
        "variants), cold_start (hatllm, hatllm_text, most_popular, most_popular_histories, random; on data "
        "prepared with --cold-items-fraction), item_ids (full, hatllm and hatllm with item vectors), depth (full, "
        "hatllm and hatllm with 2 or 6 IN, or 2 or 3 CR layers), or configuration names: full hatllm iam wo_in "
        "wo_or wo_cr cr_pre in_cr_or or_in_cr or_cr_in cr_in_or cr_or_in hatllm_text hatllm_title_only hatllm_ids "
        "hatllm_ids_last hatllm_ids_token hatllm_ids_tied hatllm_ids_sasrec hatllm_in2 hatllm_in6 hatllm_cr2 "
        "hatllm_cr3 most_popular most_popular_histories random sasrec.",
    )
    seeds: list[int] = flag([0, 1, 2], help="One run per seed and configuration.")
    budget: Literal["cpu", "demo", "converge", "gpu", "tiny"] = flag(
        "cpu",
        help="cpu: SmolLM2-135M cut to 3 layers, 300 steps (every_item: 140 of 4,096 tokens); converge: that "
        "model to early stopping (validation every 250 steps, patience 4); demo: the demo's budget (every_item: "
        "600 steps, the learning rate decaying to 0 over them); gpu: all 30 layers, batch 32, to "
        "early stopping (HatLLM 5.1.4); tiny: a smoke run (needs --base-model).",
    )
    supervision: Supervision = flag(
        "last",
        help="How LLM runs train: last (one prompt per target, the papers' format) or every_item (every item "
        "of a user's sequence in one forward; 140 steps on the cpu budget, batched by a 4,096-token budget).",
    )
    sample: Literal["examples", "users", "first"] = flag(
        "examples",
        help="How a budget's capped validation and test subsets are drawn: examples (a seeded sample across the "
        "split), users (as many users as possible), or first (the first examples of the time-ordered split, as "
        "result files that record no sample used). The same examples for every run; recorded in each result.",
    )
    budget_minutes: float | None = flag(
        None, help="No run starts after this many minutes and a running LLM training stops then (recorded)."
    )
    parallel: int = flag(1, help="Worker processes; each gets cpu_count // parallel threads.")
    base_model: str | None = flag(None, help="Override the budget's base model (a folder).")
    sasrec_dir: str | None = flag(
        None,
        help="A SASRec saved on the same data (benchmarks/sasrec_ml100k.py --save-dir): the item table that "
        "hatllm_ids_sasrec starts from.",
    )
    keep_models: bool = flag(False, help="Keep each LLM run's model folder under work/.")
    summarize_only: bool = flag(False, help="Only rebuild the summary from finished runs.")
    no_progress: bool = flag(False, help="Hide the progress bar over runs.")
    configurations: list[str] = field(init=False)  # not a flag: --grid expanded to configuration names, each once

    def __post_init__(self):
        from ..study import resolve_grid

        self.configurations = resolve_grid(self.grid)
        if not self.summarize_only and self.data_dir is None:
            raise ValueError("--data-dir is required (or pass --summarize-only)")
        if self.parallel < 1:
            raise ValueError(f"--parallel must be at least 1, got {self.parallel}")
        if self.budget_minutes is not None and self.budget_minutes < 0:
            raise ValueError(f"--budget-minutes must not be negative, got {self.budget_minutes}")
        if not self.seeds:
            raise ValueError("--seeds needs at least one seed")


def parse(argv: list[str]) -> StudyArguments:
    (args,) = parse_flags(argv, "iamrec study", StudyArguments)
    return args


def run(args: StudyArguments) -> int:
    from pathlib import Path

    from ..folders import STUDY_SUMMARY_MD
    from ..study import run_study, summarize

    if args.summarize_only:
        if not Path(args.output_dir).is_dir():
            raise FileNotFoundError(f"{args.output_dir}: no study here to summarise")
        _, markdown = summarize(args.output_dir, args.configurations)
        print(markdown, end="")
        return 0
    report = run_study(
        args.data_dir,
        args.output_dir,
        args.configurations,
        args.seeds,
        args.budget,
        args.budget_minutes,
        args.parallel,
        args.base_model,
        args.keep_models,
        show_progress=not args.no_progress,
        supervision=args.supervision,
        sasrec_dir=args.sasrec_dir,
        sample=args.sample,
    )
    print(report.markdown)
    print(report.message)
    print(f"Summary: {Path(args.output_dir) / STUDY_SUMMARY_MD}")
    return 0
