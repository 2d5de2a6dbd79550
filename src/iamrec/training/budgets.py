"""How much to train, in one place: the demo's budgets (`DEMO_BUDGETS`) and the study's (`STUDY_BUDGETS`), whose `cpu`
budget is the demo's default one. The demo and the study both read them from here."""

from dataclasses import dataclass, field, replace
from typing import Any

from ..tokenization.collator import Supervision
from .arguments import RecTrainingArguments


@dataclass(frozen=True)
class Budget:
    """A demo budget: how much of the journey to run. `default` fits 15 minutes on 2 CPU cores, `tiny` is a smoke run
    for CI."""

    base_model_layers: int
    max_steps: int  # `last` supervision
    eval_steps: int
    every_item_steps: tuple[int, int]  # (max_steps, eval_steps) of `every_item`: longer steps (20-item sequences)
    supervision: Supervision  # what the demo trains with
    max_eval_samples: int
    max_test_samples: int | None  # None: the whole test split
    batch_size: int
    learning_rate: float
    must_beat_most_popular: bool  # the run fails unless the model's test NDCG@10 beats MostPopular's
    max_tokens_per_batch: int | None = None  # `every_item` batches by this token budget; None: batch_size rows
    compile_layers: bool = False  # decoder layers compiled (`--compile_layers`): pays on runs of hundreds of steps
    item_id_embeddings: str = "none"  # a learned vector per item beside its title (`--item_id_embeddings`)

    def steps(self, supervision: Supervision | None = None) -> tuple[int, int]:
        """(max_steps, eval_steps) under `supervision` (default: the demo's own)."""
        if (supervision or self.supervision) == "every_item":
            return self.every_item_steps
        return self.max_steps, self.eval_steps

    def train_settings(self, supervision: Supervision | None = None) -> dict[str, Any]:
        """The demo's `iamrec train` settings (fields of `IAMRecArguments` and `RecTrainingArguments`): `hatllm` with
        its blocks scaled to the depth (1, 1 and 1 layers at 3)."""
        supervision = supervision or self.supervision
        max_steps, eval_steps = self.steps(supervision)
        return {
            "supervision": supervision,
            "base_model": "smollm2-135m",
            "base_model_layers": self.base_model_layers,
            "schedule": "hatllm",
            "max_eval_samples": self.max_eval_samples,
            "rec_head_norm": "batch",
            "item_id_embeddings": self.item_id_embeddings,
            **_step_settings(max_steps, eval_steps),
            "per_device_train_batch_size": self.batch_size,
            "max_tokens_per_batch": self.max_tokens_per_batch if supervision == "every_item" else None,
            "compile_layers": self.compile_layers,
            "learning_rate": self.learning_rate,
        }


def _step_settings(max_steps: int, eval_steps: int) -> dict[str, int]:
    """Steps, with a checkpoint at every validation and a loss log five times between them."""
    return {
        "max_steps": max_steps,
        "eval_steps": eval_steps,
        "save_steps": eval_steps,
        "logging_steps": max(1, eval_steps // 5),
    }


_DEMO = Budget(
    base_model_layers=3,
    max_steps=300,
    eval_steps=100,
    every_item_steps=(600, 150),
    supervision="every_item",
    max_eval_samples=1000,
    max_test_samples=None,
    batch_size=16,
    learning_rate=1e-3,
    must_beat_most_popular=True,
    max_tokens_per_batch=4096,
    compile_layers=True,
    item_id_embeddings="add",
)
DEMO_BUDGETS = {
    "default": _DEMO,
    # The default's supervision, learning rate and item vectors at the smallest scale that runs every step.
    "tiny": replace(
        _DEMO,
        base_model_layers=2,
        max_steps=4,
        eval_steps=2,
        every_item_steps=(4, 2),
        max_eval_samples=16,
        max_test_samples=64,
        batch_size=4,
        must_beat_most_popular=False,
        max_tokens_per_batch=None,
        compile_layers=False,
    ),
}


@dataclass(frozen=True)
class StudyBudget:
    """How much each run may train and on how many examples it is evaluated."""

    description: str
    base_model: str | None  # None: the caller names it (`--base-model`)
    base_model_layers: int | None  # None: every layer of the base model
    max_steps: int
    eval_steps: int
    early_stopping_patience: int
    max_eval_samples: int | None  # validation: N examples, a seeded sample (`data.subsets`); None: all
    max_test_samples: int | None  # test: N examples, sampled the same way; None: all
    batch_size: int
    eval_batch_size: int
    learning_rate: float
    rec_head_norm: str
    sasrec: dict[str, Any] = field(default_factory=dict)  # SASRecConfig fields; empty: its HatLLM-like defaults
    # (max_steps, eval_steps) of `every_item` supervision, which trains on sequences of --chunk_items items per row
    # (140 on the cpu budget, the demo's before its fast path). None: `last`'s steps.
    every_item_steps: tuple[int, int] | None = None
    max_tokens_per_batch: int | None = None  # `every_item` batches by this token budget; None: batch_size rows
    compile_layers: bool = False  # decoder layers compiled (`--compile_layers`): pays on runs of hundreds of steps

    def steps(self, supervision: Supervision) -> tuple[int, int]:
        """(max_steps, eval_steps) of a run under `supervision` (`last` or `every_item`)."""
        if supervision == "every_item" and self.every_item_steps is not None:
            return self.every_item_steps
        return self.max_steps, self.eval_steps

    def train_settings(self, supervision: Supervision | None = None) -> dict[str, Any]:
        """The `iamrec train` settings of the study's `hatllm` run on this budget (its blocks scaled to the depth, as
        the schedule does by default), for `iamrec train --budget`."""
        supervision = supervision or "last"
        return {
            "supervision": supervision,
            **({"base_model": self.base_model} if self.base_model is not None else {}),
            "base_model_layers": self.base_model_layers,
            "schedule": "hatllm",
            "max_eval_samples": self.max_eval_samples,
            "rec_head_norm": self.rec_head_norm,
            **_step_settings(*self.steps(supervision)),
            "early_stopping_patience": self.early_stopping_patience,
            "per_device_train_batch_size": self.batch_size,
            "max_tokens_per_batch": self.max_tokens_per_batch if supervision == "every_item" else None,
            "compile_layers": self.compile_layers,
            "per_device_eval_batch_size": self.eval_batch_size,
            "learning_rate": self.learning_rate,
        }


_CPU = StudyBudget(
    description="SmolLM2-135M truncated to 3 layers, 300 steps of batch 16 at lr 1e-3 (every_item: 140 steps of "
    "4,096 tokens, validation every 35), validation every 100 steps on 1,000 sampled validation examples, best "
    "checkpoint kept, the whole test split; SASRec with its defaults",
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
    every_item_steps=(140, 35),
    max_tokens_per_batch=_DEMO.max_tokens_per_batch,
    compile_layers=_DEMO.compile_layers,
)
STUDY_BUDGETS = {
    "cpu": _CPU,
    "demo": replace(
        _CPU,
        description="the demo's default budget: the cpu budget's model and batches, every_item for 600 steps of 4,096 "
        "tokens with the learning rate decaying linearly to 0, validation every 150 steps",
        every_item_steps=_DEMO.every_item_steps,
    ),
    "converge": StudyBudget(
        description="the cpu budget's model, batch and learning rate trained until validation NDCG@10 (every 250 "
        "steps, 1,000 sampled validation examples) has not improved for 4 validations, at most 25,000 steps",
        base_model="smollm2-135m",
        base_model_layers=_DEMO.base_model_layers,
        max_steps=25_000,
        eval_steps=250,
        early_stopping_patience=4,
        max_eval_samples=_DEMO.max_eval_samples,
        max_test_samples=None,
        batch_size=_DEMO.batch_size,
        eval_batch_size=RecTrainingArguments.per_device_eval_batch_size,
        learning_rate=_DEMO.learning_rate,
        rec_head_norm="batch",
        max_tokens_per_batch=_DEMO.max_tokens_per_batch,
        compile_layers=_DEMO.compile_layers,
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

TRAIN_PRESETS: dict[str, Budget | StudyBudget] = {
    **{name: budget for name, budget in STUDY_BUDGETS.items() if budget.base_model is not None},
    "demo": DEMO_BUDGETS["default"],  # the demo's own settings (the study's `demo` budget trains the same steps)
    "demo-tiny": DEMO_BUDGETS["tiny"],
}
"""`iamrec train --budget NAME`: the demo's budgets and the study's (its `hatllm` run), from the objects above."""


def preset_settings(name: str, supervision: Supervision | None = None) -> dict[str, Any]:
    """The settings of a named budget under `supervision` (default: the demo's own, or `last` for a study budget)."""
    if name not in TRAIN_PRESETS:
        raise ValueError(f"--budget {name!r} is not one of {list(TRAIN_PRESETS)}")
    return TRAIN_PRESETS[name].train_settings(supervision)
