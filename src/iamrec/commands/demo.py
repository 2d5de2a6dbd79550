"""`iamrec demo`: the whole journey on ML-100K (prepare, train, evaluate, save, reload, recommend) on a CPU budget."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..flags import flag
from . import Placement, parse_flags


@dataclass
class DemoArguments:
    """prepare -> train (HatLLM schedule, LoRA, SmolLM2-135M truncated to a few layers) -> evaluate on the test split
    next to MostPopular and Random -> save -> reload with trust_remote_code in a fresh process -> recommend."""

    output_dir: str = flag("runs/demo", help="Where data, checkpoints and the model go.")
    budget: Literal["default", "tiny"] = flag(
        "default",
        help="default: about 8 minutes on 2 CPU cores with AMX (float32 elsewhere: 2-3x as long), must beat "
        "MostPopular; tiny: a smoke run.",
    )
    seed: int = flag(42, help="Seed of training and sampling.")


def parse(argv: list[str]) -> tuple[DemoArguments, Placement]:
    return parse_flags(argv, "iamrec demo", DemoArguments, Placement)


def run(arguments: tuple[DemoArguments, Placement]) -> int:
    """Runs the journey, writes demo_report.json and prints the report; exit 1 if the budget's bar is not met."""
    from ..demo import format_report, run_demo
    from ..folders import DEMO_REPORT_FILE
    from ..training.budgets import DEMO_BUDGETS

    args, placement = arguments
    output_dir, budget = Path(args.output_dir), DEMO_BUDGETS[args.budget]
    report = run_demo(output_dir, budget, seed=args.seed, device=placement.device, dtype=placement.dtype)
    (output_dir / DEMO_REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    print(format_report(report))
    if budget.must_beat_most_popular and not report["model_beats_most_popular"]:
        print(
            f"iamrec demo: error: at the {args.budget} budget the model must beat MostPopular on test NDCG@10, and "
            "it did not (see the table above).",
            file=sys.stderr,
        )
        return 1
    return 0
