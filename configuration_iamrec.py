# Copyright 2026 The iamrec authors. Licensed under the Apache License, Version 2.0.
"""IAMRec configuration: a Llama configuration plus per-layer item-aware attention modes and a recommendation head.

This file ships to the Hub next to the weights, so it imports only `transformers` (and nothing from `iamrec`).
"""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import transformers
from packaging.version import Version

MINIMUM_TRANSFORMERS = "5.6.0"
"""The oldest transformers the tests pass on (5.4 and 5.5 load the remote processor and count accumulated targets
differently; before 5.4 configurations are not dataclasses)."""

if Version(transformers.__version__) < Version(MINIMUM_TRANSFORMERS):
    raise ImportError(
        f"IAMRec models need transformers>={MINIMUM_TRANSFORMERS}, but {transformers.__version__} is installed: "
        f"pip install 'transformers>={MINIMUM_TRANSFORMERS},<6'"
    )

from huggingface_hub.dataclasses import strict  # noqa: E402  (after the version check, which explains a failure here)
from transformers import LlamaConfig  # noqa: E402

ITEM_MASK_MODES = ("intra", "full", "inter", "inter_last")
"""The attention modes a decoder layer may use between two item tokens (HatLLM eqs. 3, 2, 4 and 5)."""

REC_HEAD_TYPES = ("linear", "text")
ITEM_ID_EMBEDDINGS = ("none", "add", "add_last", "token")
"""Where a learned vector per catalog item enters the input beside its title: nowhere (titles alone), added to each of
the item's title tokens, added to its last title token, or as one extra position closing the item's span."""
ITEM_ID_FIELDS = ("item_id_embeddings", "item_id_dim", "item_id_tie_head", "num_id_items")
"""The configuration fields of item vectors, left out of a title-only model's `config.json`."""


HATLLM_MODULES = {"IN": "intra", "OR": "full", "CR": "inter_last", "CR-pre": "inter"}
"""HatLLM's module names (section 4) as attention modes: IN = intra-item attention (eq. 3), OR = the original causal
attention, CR = cross-item attention over the items' last tokens (eq. 5), CR-pre = the first cross-item design, which
masks all intra-item attention (eq. 4)."""

PAPER_LAYERS, PAPER_SHALLOW, PAPER_DEEP = 28, 4, 1
"""HatLLM's blocks: 4 shallow and 1 deep layer of its 28-layer backbone (LLaMA3-3B, section 5.1.4; its tuned ranges
are {1, 4, 8, 12, 16} shallow and {1..5} deep layers, 4 shallow and 1-3 deep the best, section 5.4). Scaled to a
model's depth they are the default blocks of every three-block schedule: 4 and 1 from 25 to 31 layers (SmolLM2-135M
has 30), 1 and 1 at 3."""


def block_sizes(num_layers: int, num_shallow: int | None = None, num_deep: int | None = None) -> tuple[int, int, int]:
    """(shallow, middle, deep) layer counts of a three-block schedule: `num_shallow` and `num_deep` where given, else
    HatLLM's 4 and 1 of 28 layers scaled to `num_layers` (rounded half up, at least 1 each); the middle is the rest."""
    if num_layers == 1 and num_shallow is None and num_deep is None:
        raise ValueError(
            "A three-block schedule (hatllm, the default, or a Table-5 ablation) needs at least 2 layers, got "
            "num_hidden_layers=1: name `full` or `iam`, or give item_mask_modes."
        )
    if num_shallow is None:
        num_shallow = max(1, math.floor(PAPER_SHALLOW * num_layers / PAPER_LAYERS + 0.5))
    if num_deep is None:
        num_deep = max(1, math.floor(PAPER_DEEP * num_layers / PAPER_LAYERS + 0.5))
    _check_split(num_layers, num_shallow, num_deep)
    return num_shallow, num_layers - num_shallow - num_deep, num_deep


def modules_schedule(
    layout: tuple[str, str | None, str], num_layers: int, num_shallow: int | None = None, num_deep: int | None = None
) -> list[str]:
    """The HatLLM modules of `layout` (shallow, middle, deep) over the blocks of `block_sizes`, as attention modes."""
    shallow, middle, deep = block_sizes(num_layers, num_shallow, num_deep)
    if layout[1] is None:  # no middle module: its block goes to the neighbours, half to each (the smaller to shallow)
        shallow, middle, deep = shallow + middle // 2, 0, deep + middle - middle // 2
    return [HATLLM_MODULES[module] for module, count in zip(layout, (shallow, middle, deep)) for _ in range(count)]


def hatllm_schedule(num_layers: int, num_intra: int | None = None, num_inter_last: int | None = None) -> list[str]:
    """HatLLM (IN-OR-CR): `num_intra` `intra` layers, `full` in the middle, `num_inter_last` `inter_last` layers; by
    default HatLLM's 4 and 1 of 28 layers scaled to the depth (`block_sizes`)."""
    return modules_schedule(("IN", "OR", "CR"), num_layers, num_intra, num_inter_last)


def iam_schedule(num_layers: int, num_intra: int | None = None) -> list[str]:
    """IAM: intra-item layers, then inter-item layers (half and half unless `num_intra` says otherwise)."""
    num_intra = num_layers // 2 if num_intra is None else num_intra
    _check_split(num_layers, num_intra, num_layers - num_intra)
    return ["intra"] * num_intra + ["inter"] * (num_layers - num_intra)


def full_schedule(num_layers: int) -> list[str]:
    """Plain causal attention in every layer: the unmodified-LLM baseline (BIGRec with an embedding head)."""
    _check_split(num_layers, 0, 0)
    return ["full"] * num_layers


@dataclass(frozen=True)
class Schedule:
    """A named schedule: its name in the papers, how it fills a model's layers with modes, and the configuration
    fields (`num_intra`, `num_inter_last`) it takes; each has a default, so every schedule builds for any depth."""

    name: str
    label: str
    build: Callable[..., list[str]]
    parameters: tuple[str, ...] = ()

    def check(self, **given: int | None) -> None:
        """Raises if a parameter is given that this schedule does not take, rather than silently ignoring it."""
        extra = sorted(key for key, value in given.items() if value is not None and key not in self.parameters)
        if extra:
            raise ValueError(f"The {self.name!r} schedule takes no {extra}.")

    def modes(self, num_layers: int, **given: int | None) -> list[str]:
        """The per-layer modes for a model of `num_layers` layers."""
        self.check(**given)
        return self.build(num_layers, **{key: given.get(key) for key in self.parameters})


def table5_ablation(name: str, label: str, layout: tuple[str, str | None, str]) -> Schedule:
    """A row of HatLLM's ablation study (arXiv 2510.10955, section 5.3 and Table 5): HatLLM's blocks (`block_sizes`)
    with the modules of `layout` in them; it takes no parameter."""
    return Schedule(name, label, functools.partial(modules_schedule, layout))


TABLE5_ABLATIONS = (
    # "shallow Intra-item Attention layers (w/o IN) ... and deep cross-item Attention layers (w/o CR) are removed":
    # the module's mask is dropped and its layers attend as originally (OR), keeping the depth.
    table5_ablation("wo_in", "w/o IN", ("OR", "OR", "CR")),
    # "middle orignal Attention layers (w/o OR) ... removed": the paper does not say where the masked blocks meet, so
    # the middle block goes half to each neighbour (our reading; deleting layers would change the model's size).
    table5_ablation("wo_or", "w/o OR", ("IN", None, "CR")),
    table5_ablation("wo_cr", "w/o CR", ("IN", "OR", "OR")),
    # "CR->CR-pre": the initial cross-item design (eq. 4), which masks every intra-item pair (our `inter`).
    table5_ablation("cr_pre", "CR->CR-pre", ("IN", "OR", "CR-pre")),
    # The three typical layers permuted ("'IN-CR-OR' means using IN in the shallow layers, CR in the middle layers,
    # and OR in the deep layers"): the blocks keep their sizes and the named modules fill them in order.
    table5_ablation("in_cr_or", "IN-CR-OR", ("IN", "CR", "OR")),
    table5_ablation("or_in_cr", "OR-IN-CR", ("OR", "IN", "CR")),
    table5_ablation("or_cr_in", "OR-CR-IN", ("OR", "CR", "IN")),
    table5_ablation("cr_in_or", "CR-IN-OR", ("CR", "IN", "OR")),
    table5_ablation("cr_or_in", "CR-OR-IN", ("CR", "OR", "IN")),
)
"""HatLLM's ablations (Table 5) as schedules, in the paper's order."""

SCHEDULES = {
    schedule.name: schedule
    for schedule in (
        Schedule("full", "BIGRec (OR in every layer)", full_schedule),
        Schedule("hatllm", "HatLLM (IN-OR-CR)", hatllm_schedule, ("num_intra", "num_inter_last")),
        Schedule("iam", "IAM (intra, then inter)", iam_schedule, ("num_intra",)),
        *TABLE5_ABLATIONS,
    )
}
"""Every named schedule, the one place that defines them: the configuration, `from_llama`, `iamrec train --schedule`
and the study's configurations read it."""

DEFAULT_SCHEDULE = "hatllm"
"""The schedule of a configuration that names none and gives no `item_mask_modes` (and of `from_llama` and
`iamrec train`): HatLLM, with its blocks scaled to the depth."""


def named_schedule(name: str | None) -> Schedule:
    """The registered schedule called `name` (None: `DEFAULT_SCHEDULE`); an unknown name is an error listing them."""
    name = DEFAULT_SCHEDULE if name is None else name
    if name not in SCHEDULES:
        raise ValueError(f"Unknown schedule {name!r}; expected one of {list(SCHEDULES)}.")
    return SCHEDULES[name]


def make_schedule(
    name: str | None, num_layers: int, num_intra: int | None = None, num_inter_last: int | None = None
) -> list[str]:
    """The per-layer modes of a named schedule (None: `DEFAULT_SCHEDULE`) for `num_layers` layers; an argument the
    schedule does not take is an error rather than silently ignored."""
    return named_schedule(name).modes(num_layers, num_intra=num_intra, num_inter_last=num_inter_last)


def check_head_choice(rec_head_type: str, rec_head_item_corrections: bool) -> None:
    """Raises unless the head type is known and per-item corrections are asked only of the text head (also checked by
    `iamrec train` before anything loads)."""
    if rec_head_type not in REC_HEAD_TYPES:
        raise ValueError(f"rec_head_type must be one of {list(REC_HEAD_TYPES)}, got {rec_head_type!r}.")
    if rec_head_type == "linear" and not rec_head_item_corrections:
        raise ValueError("rec_head_item_corrections=False shapes the text head; rec_head_type='linear' has none.")


def check_item_id_embeddings(mode: str) -> None:
    """Raises unless `mode` is one of `ITEM_ID_EMBEDDINGS` (also checked by `iamrec train` before anything loads)."""
    if mode not in ITEM_ID_EMBEDDINGS:
        raise ValueError(f"item_id_embeddings must be one of {list(ITEM_ID_EMBEDDINGS)}, got {mode!r}.")


def _check_split(num_layers: int, first: int, last: int) -> None:
    if num_layers < 1:
        raise ValueError(f"A schedule needs at least one layer, got num_layers={num_layers}.")
    if first < 0 or last < 0 or first + last > num_layers:
        raise ValueError(
            f"Cannot give {first} leading and {last} trailing layers special modes in a model of {num_layers} layers."
        )


@strict
class IAMRecConfig(LlamaConfig):
    r"""
    Configuration of [`IAMRecForSequentialRecommendation`]: every [`LlamaConfig`] field, plus

    Args:
        item_mask_modes (`list[str]`, *optional*):
            One attention mode per decoder layer, each of `"intra"` (item tokens see only their own item, HatLLM eq. 3),
            `"full"` (plain causal attention), `"inter"` (item tokens see only other items and themselves, eq. 4) or
            `"inter_last"` (only last tokens of items see each other, eq. 5). Prompt tokens always attend causally.
            When not given, it is derived from `schedule` (as Qwen3Config derives `layer_types`); given, it wins.
        schedule (`str`, *optional*):
            A name of `SCHEDULES` that derives `item_mask_modes`: `"hatllm"` (`num_intra` x intra, full,
            `num_inter_last` x inter_last), `"iam"` (`num_intra` x intra, then inter), `"full"` (plain causal attention
            everywhere: the unmodified-LLM baseline) or one of HatLLM's Table-5 ablations (`TABLE5_ABLATIONS`).
            `None`: `DEFAULT_SCHEDULE`.
        num_intra (`int`, *optional*):
            Leading `intra` layers of the `hatllm` or `iam` schedule (`None`: the schedule's default).
        num_inter_last (`int`, *optional*):
            Trailing `inter_last` layers of the `hatllm` schedule (`None`: the schedule's default).
        num_items (`int`, *optional*):
            Size of the item catalog: the recommendation head scores item ids `0 .. num_items - 1`.
        rec_head_dim (`int`, *optional*):
            `None` (default) scores items with one linear projection of the last hidden state (the paper's head).
            An integer first projects to that size and scores by dot product with learned item embeddings, which
            keeps the head small for catalogs of millions of items.
        rec_head_type (`str`, *optional*, defaults to `"linear"`):
            `"linear"`: one learned row per item (the paper's head); it scores only the items it was trained with.
            `"text"`: an item's vector is a learned projection of the mean input embedding of its title's tokens,
            plus a learned per-item correction (zero for items added later), so `add_items` can extend the catalog
            of a trained model without retraining (see `IAMRecTextHead`).
        rec_head_item_corrections (`bool`, *optional*, defaults to `True`):
            The text head only: whether each item has a learned correction beside its title's vector. Without them,
            every item, trained or new, is scored from its title (and bias) alone, so what the head learns about
            trained items must go through the title projection, which is what scores new ones.
        num_title_tokens (`int`, *optional*):
            The text head only: how many title tokens the whole catalog has (the size of its title-token buffer).
            `from_llama`, `set_item_titles` and `add_items` set it.
        rec_head_bias (`bool`, *optional*, defaults to `True`):
            Whether the head has a per-item bias (it learns item popularity).
        rec_head_norm (`str`, *optional*, defaults to `"none"`):
            `"batch"` standardises the hidden state feature-wise (batch statistics in training, running ones at
            inference) before scoring. LLM hidden states carry large, nearly constant features; standardising them
            keeps the head's updates from swamping every item's score with the same shift.
        item_id_embeddings (`str`, *optional*, defaults to `"none"`):
            A learned vector per catalog item on the input side, beside its title (LLaRA, E4SRec): `"none"` (titles
            alone), `"add"` (added to the input embedding of each of the item's title tokens), `"add_last"` (added to
            its last title token) or `"token"` (one extra position at the end of the item's span, whose input is the
            vector; the masks treat it as one of the item's tokens). The inputs then carry `item_ids`, which the
            processor's collator emits. Items without a vector (added later, or held out as cold) get none: they are
            read from their titles alone.
        item_id_dim (`int`, *optional*):
            Width of the item vectors. `None`: the hidden size, used as they are. An integer: a learned projection
            (LLaRA's projector) maps them to the hidden size, e.g. to start from a trained SASRec's item table.
        item_id_tie_head (`bool`, *optional*, defaults to `False`):
            The linear head only: the item vectors are the head's item rows (no table of their own), so what the head
            learns about an item as a target also describes it in a history.
        num_id_items (`int`, *optional*):
            How many items (ids `0 .. num_id_items - 1`) have a vector: the catalog at creation. Items added later
            have none.
    """

    model_type = "iamrec"

    item_mask_modes: list[str] | None = None
    schedule: str | None = None
    num_intra: int | None = None
    num_inter_last: int | None = None
    num_items: int | None = None
    rec_head_dim: int | None = None
    rec_head_bias: bool = True
    rec_head_norm: str = "none"
    rec_head_type: str = "linear"
    rec_head_item_corrections: bool = True
    num_title_tokens: int | None = None
    item_id_embeddings: str = "none"
    item_id_dim: int | None = None
    item_id_tie_head: bool = False
    num_id_items: int | None = None
    use_cache: bool = False  # a scorer reads one position; a KV cache only when asked for (e.g. incremental input)

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.item_mask_modes is None:
            self.item_mask_modes = make_schedule(
                self.schedule, self.num_hidden_layers, self.num_intra, self.num_inter_last
            )
        elif self.schedule is None and (self.num_intra is not None or self.num_inter_last is not None):
            raise ValueError(
                "num_intra and num_inter_last shape a named `schedule`; explicit item_mask_modes take none."
            )
        self.item_mask_modes = list(self.item_mask_modes)
        if len(self.item_mask_modes) != self.num_hidden_layers:
            raise ValueError(
                f"item_mask_modes has {len(self.item_mask_modes)} entries but the model has "
                f"num_hidden_layers={self.num_hidden_layers}: give exactly one mode per decoder layer."
            )
        unknown = sorted({mode for mode in self.item_mask_modes if mode not in ITEM_MASK_MODES})
        if unknown:
            raise ValueError(f"Unknown item_mask_modes {unknown}; each mode must be one of {list(ITEM_MASK_MODES)}.")
        if self.num_items is not None and self.num_items < 1:
            raise ValueError(f"num_items must be a positive catalog size, got {self.num_items}.")
        if self.rec_head_norm not in ("none", "batch"):
            raise ValueError(f"rec_head_norm must be 'none' or 'batch', got {self.rec_head_norm!r}.")
        if self.rec_head_dim is not None and self.rec_head_dim < 1:
            raise ValueError(f"rec_head_dim must be positive or None, got {self.rec_head_dim}.")
        self._check_rec_head_type()
        self._check_item_id_embeddings()

    def _check_rec_head_type(self) -> None:
        """The text head needs the size of its title-token buffer, at least one token per item; the linear one none."""
        check_head_choice(self.rec_head_type, self.rec_head_item_corrections)
        if self.rec_head_type == "linear" and self.num_title_tokens is not None:
            raise ValueError("num_title_tokens sizes the text head's titles; rec_head_type='linear' takes none.")
        if self.rec_head_type == "text" and self.num_items is not None:
            if self.num_title_tokens is None or self.num_title_tokens < self.num_items:
                raise ValueError(
                    f"num_title_tokens must count the title tokens of all {self.num_items} items (at least one each) "
                    f"for rec_head_type='text', got {self.num_title_tokens}; from_llama(item_title_token_ids=) sets it."
                )

    def to_dict(self) -> dict[str, Any]:
        """Every field, but a title-only model's without the item-vector ones: its `config.json` is the one it had
        before they existed."""
        output = super().to_dict()
        if self.item_id_embeddings == "none":
            for key in ITEM_ID_FIELDS:
                output.pop(key, None)
        return output

    def _check_item_id_embeddings(self) -> None:
        """Item vectors need a mode; their table covers the catalog it was made for; tying reads linear head rows."""
        check_item_id_embeddings(self.item_id_embeddings)
        if self.item_id_embeddings == "none":
            if self.item_id_dim is not None or self.item_id_tie_head or self.num_id_items is not None:
                raise ValueError(
                    "item_id_dim, item_id_tie_head and num_id_items shape item vectors; item_id_embeddings='none' "
                    "has none."
                )
            return
        if self.num_id_items is None:
            self.num_id_items = self.num_items
        outside_catalog = self.num_items is not None and self.num_id_items > self.num_items
        if self.num_id_items is not None and (self.num_id_items < 1 or outside_catalog):
            raise ValueError(f"num_id_items must be in [1, num_items={self.num_items}], got {self.num_id_items}.")
        if self.item_id_dim is not None and self.item_id_dim < 1:
            raise ValueError(f"item_id_dim must be positive or None, got {self.item_id_dim}.")
        if self.item_id_tie_head:
            if self.rec_head_type != "linear":
                raise ValueError("item_id_tie_head reads the linear head's item rows; rec_head_type='text' has none.")
            width = self.rec_head_dim or self.hidden_size
            if (self.item_id_dim or self.hidden_size) != width:
                raise ValueError(
                    f"Tied item vectors are the head's rows, of width {width}: set item_id_dim={width} (a projection "
                    "to the hidden size) or leave both rec_head_dim and item_id_dim unset."
                )

    @classmethod
    def from_llama_config(cls, llama_config: LlamaConfig, num_items: int, **kwargs: Any) -> "IAMRecConfig":
        """Turns a pretrained Llama-family configuration into an IAMRec one for a catalog; `kwargs` set any field,
        e.g. `schedule="hatllm", num_intra=2` or `item_mask_modes=[...]`."""
        if kwargs.get("schedule") is not None and kwargs.get("item_mask_modes") is not None:
            raise ValueError("Pass either `schedule` or `item_mask_modes`, not both.")
        values = llama_config.to_dict()
        # Drop what names the source architecture, and (for an IAMRec checkpoint) its schedule, catalog and head.
        for key in (
            "model_type",
            "architectures",
            "auto_map",
            "transformers_version",
            "layer_types",
            "use_cache",
            "item_mask_modes",
            "schedule",
            "num_intra",
            "num_inter_last",
            "num_items",
            "rec_head_dim",
            "rec_head_bias",
            "rec_head_norm",
            "rec_head_type",
            "rec_head_item_corrections",
            "num_title_tokens",
            *ITEM_ID_FIELDS,
        ):
            values.pop(key, None)
        return cls(num_items=num_items, **{**values, **kwargs})


__all__ = [
    "DEFAULT_SCHEDULE",
    "HATLLM_MODULES",
    "IAMRecConfig",
    "ITEM_ID_EMBEDDINGS",
    "ITEM_MASK_MODES",
    "MINIMUM_TRANSFORMERS",
    "REC_HEAD_TYPES",
    "SCHEDULES",
    "TABLE5_ABLATIONS",
    "Schedule",
    "block_sizes",
    "check_head_choice",
    "check_item_id_embeddings",
    "full_schedule",
    "hatllm_schedule",
    "iam_schedule",
    "make_schedule",
    "named_schedule",
]
