"""A HF Trainer that validates by full-catalog ranking while keeping one rank per example, not the logits."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from transformers import EvalPrediction, Trainer

from ..evaluation.ranking import DEFAULT_KS, EvaluationPolicy, metrics_from_ranks, target_ranks
from ..modeling_iamrec import catalog_cross_entropy
from .batching import TokenBudgetBatchSampler

HISTORY_KEY = "history_items"
HEAD_NAME = "rec_head"


class RankingEvalCollator:
    """Wraps a collator and, with `with_histories`, adds each example's history as a padded tensor, which the
    history-exclusion policy needs. Where it also collates training batches (one collator for both), `compute_loss`
    drops it.
    """

    def __init__(self, collator: Callable[[list[dict]], Mapping[str, torch.Tensor]], with_histories: bool = True):
        self.collator = collator
        self.with_histories = with_histories

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        batch = dict(self.collator(examples))
        if not self.with_histories:
            return batch
        width = max(1, max(len(example["history"]) for example in examples))
        histories = torch.full((len(examples), width), -1, dtype=torch.long)
        for row, example in enumerate(examples):
            histories[row, : len(example["history"])] = torch.as_tensor(example["history"], dtype=torch.long)
        batch[HISTORY_KEY] = histories
        return batch


class RecommendationTrainer(Trainer):
    """Trainer whose evaluation reduces each batch's (batch x num_items) logits to target ranks on the spot.

    The stock evaluation loop would gather every logit (O(examples x items) memory); here `prediction_step` returns
    only the ranks, which the loop gathers across processes as usual, and `compute_metrics` averages them.

    `eval_data_collator`, where given, collates the validation batches (ranked prompts), and `data_collator` only the
    training ones, which may be another format (`every_item` sequences).

    `held_out_items` are kept out of the catalog while training: their logits are -inf in the loss and in validation
    ranking, so they are never a negative (the cold-start protocol's cold items, which then enter the catalog as new
    items do). Without them, the loss is the model's own.
    """

    def __init__(
        self,
        *args,
        policy: EvaluationPolicy = EvaluationPolicy(),
        ks=DEFAULT_KS,
        head_learning_rate: float | None = None,
        held_out_items: Sequence[int] | None = None,
        eval_data_collator: Callable[[list[dict]], Mapping[str, torch.Tensor]] | None = None,
        **kwargs,
    ):
        kwargs.setdefault("compute_metrics", self.metrics_from_predictions)
        self.held_out_items = None if not held_out_items else torch.as_tensor(list(held_out_items), dtype=torch.long)
        if self.held_out_items is not None:
            kwargs["compute_loss_func"] = self.held_out_loss
        super().__init__(*args, **kwargs)
        self.policy, self.ks, self.head_learning_rate = policy, ks, head_learning_rate
        self.eval_data_collator = eval_data_collator
        self.label_names = ["labels"]

    def training_catalog_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """`logits` in fp32 with the held-out items at -inf."""
        if self.held_out_items is None:
            return logits.float()
        return logits.float().index_fill(1, self.held_out_items.to(logits.device), float("-inf"))

    def held_out_loss(self, outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        return catalog_cross_entropy(self.training_catalog_logits(outputs.logits), labels, num_items_in_batch)

    def create_optimizer(self, model: torch.nn.Module | None = None):
        """The configured optimizer, with the recommendation head in a parameter group of its own learning rate."""
        if self.head_learning_rate is None or self.optimizer is not None:
            return super().create_optimizer(model)
        model = model if model is not None else self.model
        optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, model)
        decay = set(self.get_decay_parameter_names(model))
        groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                lr = self.head_learning_rate if HEAD_NAME in name else self.args.learning_rate
                groups.setdefault((lr, self.args.weight_decay if name in decay else 0.0), []).append(parameter)
        self.optimizer = optimizer_cls(
            [{"params": params, "lr": lr, "weight_decay": wd} for (lr, wd), params in groups.items()],
            **optimizer_kwargs,
        )
        return self.optimizer

    def get_train_dataloader(self) -> DataLoader:
        """With `max_tokens_per_batch`, batches by token budget ([`TokenBudgetBatchSampler`]); else the Trainer's."""
        if self.args.max_tokens_per_batch is None:
            return super().get_train_dataloader()
        sampler = TokenBudgetBatchSampler(
            self.train_dataset[self.args.length_column_name],
            self.args.max_tokens_per_batch,
            self.args.pad_to_multiple_of,
            seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
        )
        loader = DataLoader(
            self.train_dataset,
            batch_sampler=sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers,
        )
        return self.accelerator.prepare(loader)

    def get_eval_dataloader(self, eval_dataset: str | Dataset | None = None) -> DataLoader:
        """The Trainer's validation loader, collated by `eval_data_collator` where given (the loader keeps the
        collator it was built with, so `data_collator` is swapped for the build only)."""
        if self.eval_data_collator is None:
            return super().get_eval_dataloader(eval_dataset)
        training_collator, self.data_collator = self.data_collator, self.eval_data_collator
        try:
            return super().get_eval_dataloader(eval_dataset)
        finally:
            self.data_collator = training_collator

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], *args, **kwargs):
        inputs = {key: value for key, value in inputs.items() if key != HISTORY_KEY}
        return super().compute_loss(model, inputs, *args, **kwargs)

    def prediction_step(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        inputs = self._prepare_inputs(inputs)
        histories = inputs.pop(HISTORY_KEY, None)
        labels = inputs.pop("labels")
        with torch.no_grad():
            logits = self.training_catalog_logits(model(**inputs).logits.detach())
        loss = catalog_cross_entropy(logits, labels)
        if prediction_loss_only:
            return loss, None, None
        ranks = target_ranks(logits, labels, self.policy, histories)
        return loss, ranks.to(labels.device, torch.float32)[:, None], labels

    def metrics_from_predictions(self, prediction: EvalPrediction) -> dict[str, float]:
        ranks = np.asarray(prediction.predictions).reshape(-1)
        return metrics_from_ranks(torch.as_tensor(ranks, dtype=torch.long), self.ks)
