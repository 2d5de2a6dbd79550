"""Fine-tuning an IAMRec model (LoRA + full head) on prepared splits with the HF Trainer; `iamrec train` runs it.

Data-parallel: `torchrun --nproc_per_node 2 -m iamrec.cli train ...` (gloo on CPU, nccl on GPUs).
"""

import json
import logging
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import AutoTokenizer, EarlyStoppingCallback, TrainerCallback, set_seed

from .. import auto_classes  # noqa: F401  (saved models must carry auto_map and the Hub files)
from ..atomic import staged_dir
from ..baselines import MostPopular
from ..data import load_prepared
from ..data.sequences import ChunkSpec, every_item_sequences
from ..evaluation import EvaluationPolicy
from ..folders import MODEL_DIR, RUN_FILE
from ..hub import push
from ..locks import folder_lock
from ..modeling_iamrec import IAMRecForSequentialRecommendation
from ..precision import resolve_dtype
from ..pretrained import base_model_weights, public_base_model, resolve_base_model
from ..tokenization import IAMRecProcessor
from .arguments import IAMRecArguments, RecTrainingArguments
from .expected_reports import quiet_expected_reports
from .fitting import fitting_examples
from .resume import (
    RecordRunSettings,
    check_resume_settings,
    disk_full_reported,
    resumable_checkpoint,
    run_settings,
)
from .speed import compile_decoder_layers, hold_frozen_weights_in
from .trainer import RankingEvalCollator, RecommendationTrainer

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Where the final model went and how training went."""

    model_dir: Path | None
    best_metric: float | None
    best_checkpoint: str | None
    global_step: int
    log_history: list[dict[str, Any]]


def popularity_bias(popular: MostPopular) -> torch.Tensor:
    """Log of the (add-one smoothed) frequency of each item, ordered exactly like `popular`.

    Equal counts would give equal scores, which pessimistic ties rank low; a decreasing offset of 1e-5 per rank
    (monotone in the same order, so it never reorders different counts) breaks them by item id, like MostPopular.
    """
    counts = popular.counts.double()
    return (torch.log((counts + 1) / (counts.sum() + len(counts))) - 1e-5 * popular.ranks.double()).float()


def build_model(
    args: IAMRecArguments,
    base_path: str,
    processor: IAMRecProcessor,
    popular: MostPopular,
    dtype: torch.dtype = torch.float32,
):
    """The IAMRec model on the pretrained base, wrapped with LoRA adapters unless `lora_r` is 0, its frozen weights in
    `dtype` (see `hold_frozen_weights_in`)."""
    text_head = args.rec_head_type == "text"
    sasrec_items = None if args.item_id_init is None else sasrec_item_table(args.item_id_init, processor.num_items)
    item_ids = {}
    if args.item_id_embeddings != "none":
        item_ids = {
            "item_id_embeddings": args.item_id_embeddings,
            "item_id_dim": args.item_id_dim if sasrec_items is None else sasrec_items.shape[1],
            "item_id_tie_head": args.item_id_tie_head,
        }
    model = IAMRecForSequentialRecommendation.from_llama(
        base_path,
        num_items=processor.num_items,
        config_overrides={
            **args.schedule_fields,
            "rec_head_norm": args.rec_head_norm,
            "rec_head_type": args.rec_head_type,
            "rec_head_item_corrections": args.rec_head_item_corrections,
            **item_ids,
        },
        item_title_token_ids=processor.title_tokens.all_token_ids() if text_head else None,
        attn_implementation="sdpa",
    )
    if args.head_init == "popularity":
        model.rec_head.start_from_item_bias(popularity_bias(popular))
    if sasrec_items is not None:
        with torch.no_grad():
            model.item_embeddings.table.weight.copy_(sasrec_items)
    if args.lora_r == 0:
        return hold_frozen_weights_in(model, dtype)
    from peft import LoraConfig, get_peft_model

    trained_in_full = ["rec_head"]
    item_vectors = getattr(model, "item_embeddings", None)
    if item_vectors is not None and list(item_vectors.parameters()):  # tied vectors without a projection have none
        trained_in_full.append("item_embeddings")
    lora = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=args.lora_target_modules,
        modules_to_save=trained_in_full,
    )
    return hold_frozen_weights_in(get_peft_model(model, lora), dtype)


def sasrec_item_table(folder: str, num_items: int) -> torch.Tensor:
    """The item table of a SASRec saved on the same catalog, without its padding row: where item vectors start."""
    from ..baselines.sasrec import SASRec

    sasrec = SASRec.from_pretrained(folder)
    if sasrec.num_items != num_items:
        raise ValueError(
            f"--item_id_init {folder}: that SASRec scores {sasrec.num_items} items, this catalog has {num_items}; "
            "train it on the same prepared data."
        )
    return sasrec.model.item_embedding.weight[:num_items].detach().clone()


def held_out_items(data) -> list[int]:
    """The cold items of data prepared with `--cold_items_fraction`, which training keeps out of the catalog: a new
    item is never a negative before it exists. Empty for other data; raises if one is a training or validation target.
    """
    cold = list(data.protocol.get("cold_items") or [])
    for name in ("train", "validation"):
        targets = set(data.splits[name]["target"]) & set(cold)
        if targets:
            raise ValueError(
                f"The {name} split has cold items {sorted(targets)[:5]} as targets; prepare the data again."
            )
    return cold


def training_examples(train_split: Dataset, args: IAMRecArguments, held_out: list[int]) -> Dataset:
    """What the Trainer trains on: the prompts of the split (`last`), or every user's training interactions cut into
    sequences that supervise every item (`every_item`). Validation always ranks ordinary prompts."""
    if args.supervision == "last":
        return train_split
    return every_item_sequences(train_split, ChunkSpec(args.chunk_items, args.context_items), held_out)


def check_output_dir(output_dir: Path, overwrite: bool, resume_from_checkpoint: str | None) -> None:
    """Refuses to replace a trained model (and the checkpoints beside it) unless told to, or resuming that run."""
    if (output_dir / MODEL_DIR).exists() and not overwrite and resume_from_checkpoint is None:
        raise FileExistsError(
            f"{output_dir} already holds a trained model (model/); pass --overwrite_output_dir to replace it and its "
            "checkpoints, --resume_from_checkpoint last to continue that run, or another --output_dir"
        )


def train(
    args: IAMRecArguments,
    training_args: RecTrainingArguments,
    policy: EvaluationPolicy = EvaluationPolicy(),
    callbacks: list[TrainerCallback] | None = None,
) -> TrainResult:
    """Trains, keeps the best validation checkpoint, merges LoRA and saves model + processor to `output_dir/model`.

    With `--push_to_hub`, that folder (not the adapter checkpoints) goes to `--hub_model_id` at the end. The output
    folder is locked while training (by the first process of a data-parallel run): a second run there is refused.
    """
    first = training_args.process_index == 0
    with folder_lock(training_args.output_dir, "iamrec train") if first else nullcontext():
        with disk_full_reported(Path(training_args.output_dir)), quiet_expected_reports():
            return train_in_locked_dir(args, training_args, policy, callbacks)


def train_in_locked_dir(
    args: IAMRecArguments,
    training_args: RecTrainingArguments,
    policy: EvaluationPolicy,
    callbacks: list[TrainerCallback] | None,
) -> TrainResult:
    """`train`, once the output folder is this run's."""
    check_output_dir(
        Path(training_args.output_dir), training_args.overwrite_output_dir, training_args.resume_from_checkpoint
    )
    resume = training_args.resume_from_checkpoint  # resolved before any loading, so a bad one fails at once
    if resume is not None:
        resume = resumable_checkpoint(resume, Path(training_args.output_dir))
    push_to_hub = training_args.push_to_hub
    if push_to_hub:  # the Trainer would push every LoRA checkpoint; we push the merged model once, at the end
        training_args = replace(training_args, push_to_hub=False)
    data = load_prepared(args.data_dir)
    settings = run_settings(args, data.protocol)
    check_resume_settings(resume, settings)
    # Converting the shipped SmolLM2 on first use builds a randomly initialised model: seeding after it keeps the
    # first run on a fresh machine identical to every later one.
    base_path = resolve_base_model(args.base_model, args.base_model_layers)
    dtype = resolve_dtype(args.dtype, training_args.device)
    if dtype == torch.bfloat16 and not training_args.bf16:  # the frozen weights are bf16: compute under bf16 autocast
        on_cpu = training_args.device.type == "cpu"  # (the Trainer takes bf16 on a CPU only when told it is one)
        training_args = replace(training_args, bf16=True, use_cpu=training_args.use_cpu or on_cpu)
    set_seed(training_args.seed)  # before the head and the LoRA adapters are initialised
    processor = IAMRecProcessor(
        AutoTokenizer.from_pretrained(base_path),
        data.titles,
        max_length=args.max_length,
        item_id_embeddings=args.item_id_embeddings,
    )
    if training_args.dataloader_num_workers > 0:  # tokenize once here, not again in every forked worker
        processor.title_tokens.tokenize_all()
    popular = MostPopular(len(data.titles)).fit({"target": target} for target in data.splits["train"]["target"])
    model = build_model(args, base_path, processor, popular, dtype)
    if training_args.compile_layers:
        compile_decoder_layers(model)

    held_out = held_out_items(data)
    # Training batches take the run's format; validation ranks prompts, whatever training reads.
    training_collator = processor.collator(
        pad_to_multiple_of=training_args.pad_to_multiple_of, supervision=args.supervision
    )
    prompts = processor.collator(pad_to_multiple_of=training_args.pad_to_multiple_of)
    train_split, lengths = fitting_examples(training_examples(data.splits["train"], args, held_out), training_collator)
    if training_args.max_tokens_per_batch is not None or training_args.train_sampling_strategy in (
        "group_by_length",
        "batch_rebalance",
    ):  # length-grouped and token-budget samplers read these (not `input_ids`)
        train_split = train_split.add_column(training_args.length_column_name, lengths)
    validation, _ = fitting_examples(args.validation_sample.of(data.splits["validation"]), prompts, "validation")
    callbacks = [*(callbacks or []), RecordRunSettings(settings)]
    if training_args.early_stopping_patience > 0 and training_args.eval_strategy != "no":
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=training_args.early_stopping_patience))
    trainer = RecommendationTrainer(
        model=model,
        args=training_args,
        train_dataset=train_split,
        eval_dataset=validation,
        data_collator=training_collator,
        eval_data_collator=RankingEvalCollator(prompts, with_histories=policy.exclude_history),
        callbacks=callbacks,
        policy=policy,
        head_learning_rate=training_args.head_learning_rate,
        held_out_items=held_out,
    )
    trainer.train(resume_from_checkpoint=resume)

    model_dir = None
    if trainer.is_world_process_zero():
        # Saved in float32: the bf16-held base is widened exactly, so the merged weights are what was trained.
        trained = trainer.model.float()
        final = trained.merge_and_unload() if hasattr(trained, "merge_and_unload") else trained
        if held_out and final.config.rec_head_type == "text":
            # Their rows never trained (they still hold the initial bias, the lowest popularity): saved as the new
            # items `add_items` gives, so `iamrec evaluate --split test_cold` scores them from their titles.
            final.rec_head.reset_items(held_out)
        if held_out and final.config.item_id_embeddings != "none" and not final.config.item_id_tie_head:
            final.item_embeddings.forget(held_out)  # new items are read from their titles alone
        model_dir = Path(training_args.output_dir) / MODEL_DIR
        summary = {  # shared on the Hub: paths are reduced to names (what prepare recorded is already name-only)
            "iamrec_arguments": {
                **asdict(args),
                "data_dir": Path(args.data_dir).resolve().name,
                "base_model": public_base_model(args.base_model),
                "item_id_init": None if args.item_id_init is None else Path(args.item_id_init).resolve().name,
            },
            "base_model_weights": base_model_weights(args.base_model),
            "item_mask_modes": final.config.item_mask_modes,
            "evaluation_policy": policy.to_dict(),
            "validation_examples": len(validation),
            "validation_sample": args.validation_sample.to_dict(),
            "best_metric": {training_args.metric_for_best_model: trainer.state.best_metric},
            "best_checkpoint": Path(trainer.state.best_model_checkpoint or "").name or None,
            "global_step": trainer.state.global_step,
            "seed": training_args.seed,
            "data_protocol": data.protocol,
            "log_history": trainer.state.log_history,
        }
        save_model_dir(final, processor, summary, model_dir)
        if push_to_hub:
            repo_id = training_args.hub_model_id or Path(training_args.output_dir).name
            push(model_dir, repo_id, private=bool(training_args.hub_private_repo), token=training_args.hub_token)
    return TrainResult(
        model_dir=model_dir,
        best_metric=trainer.state.best_metric,
        best_checkpoint=trainer.state.best_model_checkpoint,
        global_step=trainer.state.global_step,
        log_history=trainer.state.log_history,
    )


def save_model_dir(model, processor: IAMRecProcessor, summary: dict[str, Any], model_dir: Path) -> None:
    """Writes model, processor and run summary to a staging folder, then swaps it into place by renames."""
    with staged_dir(model_dir) as staging:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)
        (staging / RUN_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
        # transformers writes weights through a private temporary file (mode 0600): give them the others' mode.
        mode = (staging / RUN_FILE).stat().st_mode & 0o777
        for weights in staging.glob("*.safetensors"):
            weights.chmod(mode)
