"""The study's configurations (HatLLM's schedules, Table-5 variants, baselines), grids and budgets."""

import math
import os
from collections.abc import Sequence
from typing import Any

from ..baselines import BASELINES
from ..configuration_iamrec import iam_schedule
from ..training import IAMRecArguments, RecTrainingArguments
from ..training.budgets import STUDY_BUDGETS, StudyBudget

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
    "hatllm_text": "HatLLM, title head",
    "hatllm_title_only": "HatLLM, title head without per-item corrections",
    "hatllm_ids": "HatLLM + item ids (added to title tokens)",
    "hatllm_ids_last": "HatLLM + item ids (added to last title token)",
    "hatllm_ids_token": "HatLLM + item ids (one token per item)",
    "hatllm_ids_tied": "HatLLM + item ids tied to the head",
    "hatllm_ids_sasrec": "HatLLM + item ids from SASRec (projected)",
    **{name: baseline.label for name, baseline in BASELINES.items()},
}
"""Each configuration's name in the papers (Table 5's row names for the ablations); a baseline's is registered with it
(`iamrec.baselines`), and `label` also finds one registered after this module was imported."""

TABLE5_VARIANTS = ("wo_in", "wo_or", "wo_cr", "cr_pre", "in_cr_or", "or_in_cr", "or_cr_in", "cr_in_or", "cr_or_in")
TEXT_HEAD_CONFIGURATIONS = {"hatllm_text": "hatllm", "hatllm_title_only": "hatllm"}
"""Configurations that train another one's schedule with the title head (`rec_head_type="text"`), which scores items
from their titles and so can rank cold items: run them on data prepared with `--cold_items_fraction`, whose results
then report `test_cold` beside `test`. Training keeps cold items out of the catalog (never a target, never a
negative), for every configuration of the grid, as a catalog would not hold an item before it exists; evaluation then
scores them as new items. `hatllm_title_only` has no per-item corrections
(`rec_head_item_corrections=False`): every item is scored from its title and bias, so what the head learns about
trained items has to go through the title projection that scores cold ones."""
ITEM_ID_CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "hatllm_ids": {"item_id_embeddings": "add"},
    "hatllm_ids_last": {"item_id_embeddings": "add_last"},
    "hatllm_ids_token": {"item_id_embeddings": "token"},
    "hatllm_ids_tied": {"item_id_embeddings": "add", "item_id_tie_head": True},
    "hatllm_ids_sasrec": {"item_id_embeddings": "add"},  # and the study's `sasrec_dir` as `item_id_init`
}
"""Configurations that train `hatllm` with a learned vector per item beside its title (`item_id_embeddings`), as
`IAMRecArguments` fields: random vectors added to each title token, to the last one, or in a token of their own;
the linear head's rows as the vectors; or a saved SASRec's item table through a learned projection (LLaRA), which
needs the study's `sasrec_dir`."""
SASREC_INITIALISED = ("hatllm_ids_sasrec",)
LLM_CONFIGURATIONS = (
    "full",
    "hatllm",
    "iam",
    *TABLE5_VARIANTS,
    *TEXT_HEAD_CONFIGURATIONS,
    *ITEM_ID_CONFIGURATIONS,
)
BASELINE_CONFIGURATIONS = tuple(BASELINES)
"""The registered baselines (`iamrec.baselines.BASELINES`): `most_popular` counts training targets;
`most_popular_histories` also counts history items, so an item that is never a training target (a cold item) still has
a popularity: the popularity fallback of the cold-start grid. `random` draws uniform scores from the run's seed."""
CONFIGURATIONS = (*LLM_CONFIGURATIONS, *BASELINE_CONFIGURATIONS)


def configurations() -> tuple[str, ...]:
    """Every configuration: the LLM ones, then every registered baseline (one registered later too)."""
    return (*LLM_CONFIGURATIONS, *BASELINES)


def label(configuration: str) -> str:
    """A configuration's name in tables."""
    return BASELINES[configuration].label if configuration in BASELINES else LABELS[configuration]


REFERENCES = {"test": ("full", "hatllm"), "test_cold": ("random",), "test_cold_among_cold": ("random",)}
"""What every configuration is compared with (paired, per example), by split: the first of these that has results.
On `test` that is `full` (plain attention), or `hatllm` where `full` did not run (the cold-start grid: the title head
against the linear head); on `test_cold`, ranked over the whole catalog or among the cold items only, `random`."""

GRIDS = {
    "main": ("full", "hatllm", "iam", "most_popular", "sasrec"),
    "ablations": ("full", "hatllm", *TABLE5_VARIANTS),  # Table 5's BIGRec and HatLLM rows, then its variants
    # on data prepared with --cold_items_fraction
    "cold_start": ("hatllm", "hatllm_text", "hatllm_title_only", "most_popular", "most_popular_histories", "random"),
    "item_ids": ("full", "hatllm", *ITEM_ID_CONFIGURATIONS),
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
    inter in the second). A `TEXT_HEAD_CONFIGURATIONS` entry has the modes of the configuration it names, an
    `ITEM_ID_CONFIGURATIONS` entry those of `hatllm`.

    Caveat: masks apply only between item tokens and the score is read at the final prompt token, so the last layer's
    mode never changes the scores (measured on the tiny fixtures: `hatllm` [intra, inter_last] and `iam` [intra,
    inter] give identical ranks). With a deep block of one layer (c = 1 below 42 layers), `wo_cr` and `cr_pre`
    therefore score exactly like `hatllm` (and `wo_in` like `full`), and the last layer's module in the permuted
    orders counts only when c >= 2. A study meant to measure CR needs a deep block of at least 2 layers.
    """
    configuration = TEXT_HEAD_CONFIGURATIONS.get(configuration, configuration)
    if configuration in ITEM_ID_CONFIGURATIONS:
        configuration = "hatllm"
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


def head_arguments(configuration: str) -> dict[str, Any]:
    """The head an LLM configuration trains, as `IAMRecArguments` fields."""
    if configuration not in TEXT_HEAD_CONFIGURATIONS:
        return {"rec_head_type": "linear"}
    return {"rec_head_type": "text", "rec_head_item_corrections": configuration != "hatllm_title_only"}


def model_arguments(configuration: str, sasrec_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The head and input of an LLM configuration, as `IAMRecArguments` fields; `sasrec_dir` (a saved SASRec) is
    what `SASREC_INITIALISED` configurations start their item vectors from, and they refuse to run without one."""
    arguments = {**head_arguments(configuration), **ITEM_ID_CONFIGURATIONS.get(configuration, {})}
    if configuration in SASREC_INITIALISED:
        if sasrec_dir is None:
            raise ValueError(f"{configuration} starts from a saved SASRec: pass sasrec_dir (--sasrec-dir).")
        arguments["item_id_init"] = str(sasrec_dir)
    return arguments


def resolve_grid(names: Sequence[str]) -> list[str]:
    """Grid names (`main`, `ablations`) and configuration names, expanded in order, each once."""
    chosen = []
    for name in names:
        if name in GRIDS:
            chosen.extend(GRIDS[name])
        elif name in configurations():
            chosen.append(name)
        else:
            raise ValueError(
                f"Unknown grid or configuration {name!r}; choose {list(GRIDS)} or {list(configurations())}."
            )
    return list(dict.fromkeys(chosen))


BUDGETS = STUDY_BUDGETS
"""The study's budgets (defined in `training.budgets`, beside the demo's)."""


def llm_arguments(
    budget: StudyBudget,
    data_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    modes: list[str],
    seed: int,
    base_model: str,
    head: dict[str, Any] | None = None,
    supervision: str = "last",
) -> tuple[IAMRecArguments, RecTrainingArguments]:
    """The `train` arguments of one LLM run: the budget's, with the configuration's per-layer modes, head and input
    (`model_arguments`), trained under `supervision` (`last` or `every_item`, with its default chunking)."""
    max_steps, eval_steps = budget.steps(supervision)
    args = IAMRecArguments(
        **(head or {}),
        supervision=supervision,
        data_dir=str(data_dir),
        base_model=base_model,
        base_model_layers=budget.base_model_layers,
        item_mask_modes=list(modes),
        max_eval_samples=budget.max_eval_samples,
        rec_head_norm=budget.rec_head_norm,
    )
    training_args = RecTrainingArguments(
        output_dir=str(output_dir),
        max_steps=max_steps,
        eval_steps=eval_steps,
        save_steps=eval_steps,
        logging_steps=max(1, eval_steps // 5),
        early_stopping_patience=budget.early_stopping_patience,
        seed=seed,
        per_device_train_batch_size=budget.batch_size,
        max_tokens_per_batch=budget.max_tokens_per_batch if supervision == "every_item" else None,
        compile_layers=budget.compile_layers,
        per_device_eval_batch_size=budget.eval_batch_size,
        learning_rate=budget.learning_rate,
        overwrite_output_dir=True,  # a run killed before its result was written starts again from step 0
        disable_tqdm=True,
        report_to="none",
    )
    return args, training_args
