"""The study's configurations (every registered schedule, HatLLM's variants of head, input and block sizes,
baselines) and grids."""

import os
from collections.abc import Sequence
from typing import Any

from ..baselines import BASELINES
from ..configuration_iamrec import SCHEDULES, TABLE5_ABLATIONS, make_schedule
from ..tokenization.collator import Supervision
from ..training import IAMRecArguments, RecTrainingArguments
from ..training.budgets import StudyBudget

BLOCK_CONFIGURATIONS: dict[str, dict[str, int]] = {
    "hatllm_in2": {"num_intra": 2},
    "hatllm_in6": {"num_intra": 6},
    "hatllm_cr2": {"num_inter_last": 2},
    "hatllm_cr3": {"num_inter_last": 3},
}
"""Configurations that train `hatllm` with one block's size changed from its default (4 IN and 1 CR layers from 25 to
31 layers), as parameters of the registered schedule (`SCHEDULES["hatllm"].parameters`): HatLLM's sensitivity to its
shallow and deep layer counts (section 5.4, Figure 5; 1-3 deep layers its best), around SmolLM2-135M's 30-layer
defaults. A model too shallow for one (`hatllm_in6` needs 7 layers, `hatllm_cr3` 5) is refused before any run."""
BLOCK_MODULES = {"num_intra": "IN", "num_inter_last": "CR"}
"""The HatLLM module (`HATLLM_MODULES`) whose block each `hatllm` parameter sizes, for the labels."""
LABELS = {
    **{name: schedule.label for name, schedule in SCHEDULES.items()},
    "hatllm_text": "HatLLM, title head",
    "hatllm_title_only": "HatLLM, title head without per-item corrections",
    "hatllm_ids": "HatLLM + item ids (added to title tokens)",
    "hatllm_ids_last": "HatLLM + item ids (added to last title token)",
    "hatllm_ids_token": "HatLLM + item ids (one token per item)",
    "hatllm_ids_tied": "HatLLM + item ids tied to the head",
    "hatllm_ids_sasrec": "HatLLM + item ids from SASRec (projected)",
    **{
        name: "HatLLM, " + ", ".join(f"{count} {BLOCK_MODULES[key]} layers" for key, count in blocks.items())
        for name, blocks in BLOCK_CONFIGURATIONS.items()
    },
    **{name: baseline.label for name, baseline in BASELINES.items()},
}
"""Each configuration's name in the papers: a schedule's is registered with it (`configuration_iamrec.SCHEDULES`,
Table 5's row names for the ablations), as a baseline's is (`iamrec.baselines`), and `label` also finds one
registered after this module was imported."""

TABLE5_VARIANTS = tuple(schedule.name for schedule in TABLE5_ABLATIONS)
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
LLM_CONFIGURATIONS = (*SCHEDULES, *TEXT_HEAD_CONFIGURATIONS, *ITEM_ID_CONFIGURATIONS, *BLOCK_CONFIGURATIONS)
"""Every registered schedule under its own name (`full`, `hatllm`, `iam`, Table 5's ablations), then the
configurations that train `hatllm` with another head, input or block sizes."""
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
    "depth": ("full", "hatllm", *BLOCK_CONFIGURATIONS),  # HatLLM's block sizes (section 5.4)
}


def schedule_of(configuration: str) -> str:
    """The registered schedule an LLM configuration trains: a schedule's own name, or the one a head or input
    variant names (`TEXT_HEAD_CONFIGURATIONS`; `hatllm` for `ITEM_ID_CONFIGURATIONS` and `BLOCK_CONFIGURATIONS`)."""
    if configuration in TEXT_HEAD_CONFIGURATIONS:
        return TEXT_HEAD_CONFIGURATIONS[configuration]
    if configuration in ITEM_ID_CONFIGURATIONS or configuration in BLOCK_CONFIGURATIONS:
        return "hatllm"
    if configuration in SCHEDULES:
        return configuration
    raise ValueError(f"{configuration!r} is not an LLM configuration; choose from {list(LLM_CONFIGURATIONS)}.")


def table5_modes(configuration: str, num_layers: int) -> list[str]:
    """The per-layer `item_mask_modes` of an LLM configuration for a model of `num_layers` layers: those of its
    schedule (`schedule_of`) with the schedule's default blocks, HatLLM's 4 shallow and 1 deep of 28 layers scaled to
    the depth ((1, 4, 1) at 6 layers, (4, 25, 1) at 30; `configuration_iamrec.block_sizes`), or the block sizes a
    `BLOCK_CONFIGURATIONS` entry gives ((2, 27, 1) for `hatllm_in2` at 30). A model too shallow for them is a
    one-line error naming the configuration.

    Caveat: masks apply only between item tokens and the score is read at the final prompt token, so the last layer's
    mode never changes the scores (measured on the tiny fixtures: `hatllm` [intra, inter_last] and `iam` [intra,
    inter] give identical ranks). With a deep block of one layer (below 42 layers), `wo_cr` and `cr_pre` therefore
    score exactly like `hatllm` (and `wo_in` like `full`), and the last layer's module in the permuted orders counts
    only with a deep block of 2 or more. A study meant to measure CR needs a deep block of at least 2 layers.
    """
    try:
        return make_schedule(schedule_of(configuration), num_layers, **BLOCK_CONFIGURATIONS.get(configuration, {}))
    except ValueError as error:
        raise ValueError(f"{configuration} cannot run on a model of {num_layers} layers: {error}") from None


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


def llm_arguments(
    budget: StudyBudget,
    data_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    modes: list[str],
    seed: int,
    base_model: str,
    head: dict[str, Any] | None = None,
    supervision: Supervision = "last",
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
