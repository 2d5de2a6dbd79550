"""The attention-share figure: one column per model, item tokens' shares on top and the final token's below."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .attention import FINAL_TARGETS, ITEM_TARGETS

LABELS = {"same_item": "same item", "other_items": "other items", "prompt": "prompt", "items": "item tokens"}


def plot_attention_shares(reports: Mapping[str, Mapping[str, Any]], path: str | Path):
    """Writes a PNG of stacked per-layer shares for each model (`reports`: name -> `measure_attention` result) and
    returns the figure (a notebook shows it inline).

    Built without pyplot, so the caller's matplotlib backend stays as it is. Needs matplotlib (`pip install
    matplotlib`, part of iamrec's `dev` extra)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("The attention plot needs matplotlib: pip install matplotlib") from error

    figure = Figure(figsize=(4.2 * len(reports), 6))
    axes = figure.subplots(2, len(reports), squeeze=False, sharey=True)
    for column, (name, report) in enumerate(reports.items()):
        for row, (key, targets, who) in enumerate(
            [("item_tokens", ITEM_TARGETS, "item tokens"), ("final_token", FINAL_TARGETS, "final token")]
        ):
            axis = axes[row][column]
            layers = range(len(report["item_mask_modes"]))
            bottom = [0.0] * len(layers)
            for target in targets:
                shares = report[key][target]
                axis.bar(layers, shares, bottom=bottom, label=LABELS[target])
                bottom = [low + share for low, share in zip(bottom, shares)]
            axis.set_title(f"{name}: {who}", fontsize=9)
            axis.set_xticks(list(layers), [mode.replace("_", "\n") for mode in report["item_mask_modes"]], fontsize=7)
            axis.set_ylim(0, 1)
            axis.set_ylabel("share of attention" if column == 0 else "")
        axes[1][column].set_xlabel("layer (its mode)")
    for row in axes:  # one legend per row, outside the bars (they fill the axis to 1)
        row[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return figure
