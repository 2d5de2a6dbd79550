"""`iamrec analyze-attention`: where each layer's attention goes (HatLLM Figure 2), for models side by side."""

import json
from dataclasses import dataclass
from pathlib import Path

from ..flags import flag
from . import Placement, parse_flags


@dataclass
class AnalyzeAttentionArguments:
    """Per layer, the share of item tokens' attention on their own item, on other items and on the prompt, and the
    final token's share on items and on the prompt, averaged over N test users; as JSON and a PNG plot."""

    models: list[str] = flag(
        help="Model folders written by `iamrec train` (e.g. a full and a hatllm one), plotted in order."
    )
    data_dir: str = flag(help="The folder written by `iamrec prepare` the models were trained on.")
    output_dir: str = flag(help="Where attention_shares.json and attention_shares.png go.")
    num_users: int = flag(200, help="Users analysed: the first example of each of the first N.")
    split: str = flag("test", help="The split the examples come from.")
    batch_size: int = flag(8, help="Examples per forward (eager attention keeps T x T weights).")
    without_masks: bool = flag(
        False, help="Also measure each model with every layer's mask off (plain causal attention, same weights)."
    )
    plot: bool = flag(True, help="Also write the PNG (needs matplotlib); --no_plot: JSON only.")

    def __post_init__(self):
        if not self.models:
            raise ValueError("--models needs at least one model folder")
        if self.num_users < 1:
            raise ValueError(f"--num-users must be at least 1, got {self.num_users}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")


def distinct_names(folders: list[str]) -> list[str]:
    """Each folder named by as many of its trailing path parts as tell it from the others (`model` alone, or
    `hatllm/seed-0/model` beside `hatllm_ids/seed-0/model`), numbered where the paths are the same."""
    parts = [Path(folder).resolve().parts for folder in folders]
    for depth in range(1, max(map(len, parts)) + 1):
        names = ["/".join(path[-depth:]) for path in parts]
        if len(set(names)) == len(names):
            return names
    return [f"{name} ({number + 1})" for number, name in enumerate(names)]


def parse(argv: list[str]) -> tuple[AnalyzeAttentionArguments, Placement]:
    return parse_flags(argv, "iamrec analyze-attention", AnalyzeAttentionArguments, Placement)


def run(arguments: tuple[AnalyzeAttentionArguments, Placement]) -> int:
    from ..analysis.attention import first_example_per_user, measure_attention
    from ..atomic import write_json_atomic
    from ..comparison import check_same_catalog
    from ..data import load_prepared
    from ..folders import ATTENTION_JSON, ATTENTION_PLOT
    from ..inference import Recommender

    args, placement = arguments
    data = load_prepared(args.data_dir)
    if args.split not in data.splits:
        raise ValueError(f"unknown split {args.split!r}; the data has {sorted(data.splits)}")
    examples = first_example_per_user(data.splits[args.split], args.num_users)
    reports = {}
    for name, model_dir in zip(distinct_names(args.models), args.models):
        recommender = Recommender.from_pretrained(model_dir, device=placement.device, dtype=placement.dtype)
        check_same_catalog(recommender, data)
        collator, model = recommender.processor.collator(), recommender.model
        reports[name] = {
            **measure_attention(model, collator, examples, args.batch_size),
            "placement": recommender.placement,
        }
        if args.without_masks:
            model.config.item_mask_modes = ["full"] * model.config.num_hidden_layers
            reports[f"{name}, no masks"] = measure_attention(model, collator, examples, args.batch_size)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    record = {"split": args.split, "num_users": len(examples), "models": reports}
    write_json_atomic(output / ATTENTION_JSON, record)
    if args.plot:
        from ..analysis.plot import plot_attention_shares

        plot_attention_shares(reports, output / ATTENTION_PLOT)
    print(json.dumps({name: report["item_tokens"] for name, report in reports.items()}, indent=1))
    print(f"Wrote {output / ATTENTION_JSON}" + (f" and {output / ATTENTION_PLOT}" if args.plot else ""))
    return 0
