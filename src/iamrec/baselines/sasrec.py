"""SASRec (Kang & McAuley, ICDM 2018), trained with full-catalog cross-entropy (Klenitskiy & Vasilev, RecSys 2023).

A causal transformer over item ids: the hidden state at the last history item scores every catalog item by a dot
product with the (tied) item embedding table. It is a scorer like `MostPopular` (the `Scorer` protocol of
`baselines.base`), so `evaluate_scorer` ranks its scores with the same metric code and policy as every other model.

Training reads the prepared sliding-window samples (history of at most `max_length` items, target). By default
only the last position is supervised: the output at the last history item predicts the target. The alternative,
`supervision="every_position"` (the sequence is history + [target], position t predicts item t + 1, as in the
SASRec paper), learns faster per epoch but converged lower. Measured on ML-100K, 3 seeds, patience 8, all else equal
(benchmarks/results/sasrec_ml100k_last_position.json and sasrec_ml100k.json): validation NDCG@10 0.0831 +- 0.0005
(last position, best epochs 15-20) against 0.0818 +- 0.0001 (every position, best epochs 4-14); test NDCG@10 0.0770
+- 0.0003 against 0.0761 +- 0.0026. On sliding windows every position sees each transition up to 10 times per
epoch, and it overfits sooner.

An empty history is one padding item (a zero embedding) at position 0: a defined, finite input, trained like any
other when the training split holds such samples.

Example:

```python
>>> data = load_prepared("ml-100k")
>>> scorer = SASRec(num_items=len(data.titles), seed=0).fit(data.splits["train"], data.splits["validation"])
>>> evaluate_scorer(scorer, data.splits["test"], len(data.titles))["metrics"]["NDCG@10"]
```
"""

import copy
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from ..atomic import staged_dir
from ..evaluation.ranking import EvaluationPolicy, check_item_ids
from ..evaluation.runner import evaluate_scorer
from ..folder_checks import read_json_object
from ..folders import CONFIG_FILE, WEIGHTS_FILE
from .base import BaselineSettings, register_baseline

SUPERVISIONS = ("every_position", "last_position")
IGNORE_INDEX = -100
EARLY_STOPPING_METRIC = "NDCG@10"


@dataclass(frozen=True)
class SASRecConfig:
    """Architecture and training settings; the defaults follow HatLLM's baselines (section 5.1.4) and the papers.

    Args:
        embedding_dim: item and position embedding size (HatLLM: 64).
        num_layers: transformer blocks (SASRec paper: 2).
        num_heads: attention heads; must divide `embedding_dim`.
        feedforward_dim: inner size of each block's feed-forward layer (SASRec paper: the embedding size).
        dropout: on the embeddings, attention weights and both residual branches (SASRec paper and RecBole use
            0.2 on MovieLens).
        max_length: most recent history items kept; the ML-100K protocol keeps at most 10.
        supervision: `"last_position"` (predict only the target from the whole history; the better validation
            NDCG@10 on ML-100K, see the module docstring) or `"every_position"` (predict item t + 1 at every
            position of history + [target]).
        batch_size: training samples per step (HatLLM: 256).
        learning_rate: Adam step size (HatLLM: 1e-3).
        max_epochs: upper bound on training epochs.
        patience: stop after this many epochs without a better validation NDCG@10.
        eval_batch_size: examples per scorer call during validation.
    """

    embedding_dim: int = 64
    num_layers: int = 2
    num_heads: int = 2
    feedforward_dim: int = 64
    dropout: float = 0.2
    max_length: int = 10
    supervision: str = "last_position"
    batch_size: int = 256
    learning_rate: float = 1e-3
    max_epochs: int = 200
    patience: int = 8
    eval_batch_size: int = 256

    def __post_init__(self):
        for name in (
            "embedding_dim",
            "num_layers",
            "num_heads",
            "feedforward_dim",
            "max_length",
            "batch_size",
            "max_epochs",
            "patience",
            "eval_batch_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SASRecConfig.{name} must be a positive integer, got {value!r}.")
        if self.embedding_dim % self.num_heads:
            raise ValueError(
                f"SASRecConfig.num_heads ({self.num_heads}) must divide embedding_dim ({self.embedding_dim})."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"SASRecConfig.dropout must be in [0, 1), got {self.dropout!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"SASRecConfig.learning_rate must be positive, got {self.learning_rate!r}.")
        if self.supervision not in SUPERVISIONS:
            raise ValueError(f"SASRecConfig.supervision must be one of {SUPERVISIONS}, got {self.supervision!r}.")


def causal_padding_mask(lengths: torch.LongTensor, width: int) -> torch.BoolTensor:
    """`(batch, 1, width, width)`: query q may attend key k when k <= q (causal) and k is a real item (k < length).

    Items are right-padded, so every query row keeps key 0 and no row is fully masked.
    """
    q_idx = torch.arange(width, device=lengths.device)[:, None]
    kv_idx = torch.arange(width, device=lengths.device)[None, :]
    return ((kv_idx <= q_idx)[None] & (kv_idx[None] < lengths[:, None, None]))[:, None]


class SelfAttentionBlock(nn.Module):
    """A pre-norm transformer block: x + attention(norm(x)), then x + feed_forward(norm(x))."""

    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.dropout = config.dropout
        self.attention_norm = nn.LayerNorm(config.embedding_dim)
        self.qkv = nn.Linear(config.embedding_dim, 3 * config.embedding_dim)
        self.attention_output = nn.Linear(config.embedding_dim, config.embedding_dim)
        self.feed_forward_norm = nn.LayerNorm(config.embedding_dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(config.embedding_dim, config.feedforward_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.feedforward_dim, config.embedding_dim),
        )
        self.residual_dropout = nn.Dropout(config.dropout)

    def forward(self, hidden: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        batch, width, dim = hidden.shape
        qkv = self.qkv(self.attention_norm(hidden)).view(batch, width, 3, self.num_heads, dim // self.num_heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        attended = attended.transpose(1, 2).reshape(batch, width, dim)
        hidden = hidden + self.residual_dropout(self.attention_output(attended))
        return hidden + self.residual_dropout(self.feed_forward(self.feed_forward_norm(hidden)))


class SASRecModel(nn.Module):
    """The network: item + position embeddings, causal blocks, a final norm; logits against the tied item table.

    Item id `num_items` is padding (a zero embedding that receives no gradient).
    """

    def __init__(self, config: SASRecConfig, num_items: int):
        super().__init__()
        self.num_items = num_items
        self.item_embedding = nn.Embedding(num_items + 1, config.embedding_dim, padding_idx=num_items)
        self.position_embedding = nn.Embedding(config.max_length, config.embedding_dim)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(SelfAttentionBlock(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.embedding_dim)
        self.embedding_scale = math.sqrt(config.embedding_dim)
        self._init_weights()

    def _init_weights(self) -> None:
        # Xavier-normal matrices and zero biases, as the reference SASRec implementations initialise them.
        for name, parameter in self.named_parameters():
            if "norm" in name:
                continue
            if parameter.dim() > 1:
                nn.init.xavier_normal_(parameter)
            else:
                nn.init.zeros_(parameter)
        with torch.no_grad():
            self.item_embedding.weight[self.num_items].zero_()

    def forward(self, items: torch.LongTensor, lengths: torch.LongTensor) -> torch.Tensor:
        """Hidden states `(batch, width, dim)` of right-padded `items`; position t sees items 0..t only."""
        positions = torch.arange(items.shape[1], device=items.device)
        hidden = self.item_embedding(items) * self.embedding_scale + self.position_embedding(positions)
        hidden = self.embedding_dropout(hidden)
        mask = causal_padding_mask(lengths, items.shape[1])
        for block in self.blocks:
            hidden = block(hidden, mask)
        return self.final_norm(hidden)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores of every catalog item (padding excluded) for each hidden state."""
        return hidden @ self.item_embedding.weight[: self.num_items].T


def pad_histories(
    histories: Sequence[Sequence[int]], num_items: int, max_length: int
) -> tuple[torch.LongTensor, torch.LongTensor]:
    """Right-padded `(batch, width)` item ids of the last `max_length` items and the lengths (an empty history is
    one padding item, so lengths are at least 1)."""
    histories = [list(history)[-max_length:] for history in histories]
    lengths = torch.tensor([max(len(history), 1) for history in histories], dtype=torch.long)
    width = int(lengths.max()) if len(histories) else 1
    items = torch.full((len(histories), width), num_items, dtype=torch.long)
    for row, history in enumerate(histories):
        if any(isinstance(item, bool) or not isinstance(item, int) for item in history):
            raise ValueError(f"The history of row {row} holds an item id that is not an integer.")
        ids = torch.tensor(history, dtype=torch.long)
        check_item_ids(ids, torch.full_like(ids, row), num_items, "The history")
        items[row, : len(history)] = ids
    return items, lengths


def training_tensors(split, num_items: int, config: SASRecConfig) -> dict[str, torch.Tensor]:
    """Inputs, lengths and per-position labels (`IGNORE_INDEX` where unsupervised) of the whole training split."""
    histories, targets = split["history"], split["target"]
    if not targets:
        raise ValueError("The training split is empty.")
    check_item_ids(torch.tensor(targets), torch.arange(len(targets)), num_items, "The training target")
    items, lengths = pad_histories(histories, num_items, config.max_length)
    labels = torch.full((len(targets), config.max_length), IGNORE_INDEX, dtype=torch.long)
    rows = torch.arange(len(targets))
    labels[rows, lengths - 1] = torch.tensor(targets, dtype=torch.long)
    if config.supervision == "every_position":
        # Position t predicts the next history item; padding inputs (id num_items) are never labels.
        following = items[:, 1:].masked_fill(items[:, 1:] == num_items, IGNORE_INDEX)
        labels[:, : following.shape[1]] = torch.where(
            labels[:, : following.shape[1]] == IGNORE_INDEX, following, labels[:, : following.shape[1]]
        )
    width = items.shape[1]
    return {"items": items, "lengths": lengths, "labels": labels[:, :width]}


class FitFromClassOrInstance:
    """`scorer.fit(train, validation)` trains that scorer (the `Scorer` protocol); `SASRec.fit(train, validation,
    num_items, ...)`, the classmethod of earlier releases, still builds and trains a new one (`SASRec.trained`)."""

    def __get__(self, instance, owner):
        return owner.trained if instance is None else instance.fit_on


@register_baseline("sasrec", label="SASRec")
class SASRec:
    """SASRec as a scorer: `fit(train, validation)`, then `score(examples) -> (batch, num_items)`.

    Attributes:
        epoch_log: per epoch, the mean training loss and validation NDCG@10.
        best_epoch: the (1-based) epoch whose weights were kept.
        is_fitted: trained by `fit` or loaded by `from_pretrained` (`fit` then keeps the weights as they are).
    """

    fit = FitFromClassOrInstance()

    def __init__(
        self,
        num_items: int,
        config: SASRecConfig = SASRecConfig(),
        seed: int = 0,
        device: torch.device | str = "cpu",
        policy: EvaluationPolicy = EvaluationPolicy(),
        show_progress: bool = True,
    ):
        if isinstance(num_items, bool) or not isinstance(num_items, int) or num_items < 1:
            raise ValueError(f"num_items must be a positive integer, got {num_items!r}.")
        self.num_items = num_items
        self.config = config
        self.seed = seed
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = SASRecModel(config, num_items).to(self.device).eval()
        self.policy, self.show_progress = policy, show_progress
        self.epoch_log: list[dict[str, float]] = []
        self.best_epoch: int | None = None
        self.is_fitted = False

    @classmethod
    def from_settings(cls, settings: BaselineSettings) -> "SASRec":
        """A new SASRec with `options["sasrec"]` as `SASRecConfig` fields, or the one saved in `options["sasrec_dir"]`
        (already fitted)."""
        if settings.options.get("sasrec_dir") is not None:
            return cls.from_pretrained(settings.options["sasrec_dir"], device=settings.device)
        config = SASRecConfig(**settings.options.get("sasrec", {}))
        return cls(settings.num_items, config, settings.seed, settings.device, settings.policy, settings.show_progress)

    @property
    def name(self) -> str:
        return f"SASRec(seed={self.seed})"

    @classmethod
    def trained(cls, train_split, validation_split, *args, **kwargs) -> "SASRec":
        """`SASRec(*args, **kwargs)` (`num_items`, `config`, `seed`, ...) trained by `fit`: the classmethod
        `SASRec.fit(train, validation, num_items, ...)` of earlier releases."""
        return cls(*args, **kwargs).fit_on(train_split, validation_split)

    def fit_on(self, train_split, validation_split=None) -> "SASRec":
        """Trains on `train_split` with early stopping on validation NDCG@10 and keeps the best epoch's weights (a
        fitted scorer is returned as it is).

        Both splits are `datasets.Dataset`s (or anything with `history` and `target` columns). The same seed gives
        the same weights: it seeds the initialisation, dropout and the shuffling generator.
        """
        if self.is_fitted:
            return self
        if validation_split is None or len(validation_split) == 0:
            raise ValueError("The validation split is empty; early stopping needs it.")
        config, num_items = self.config, self.num_items
        tensors = training_tensors(train_split, num_items, config)
        data = {name: tensor.to(self.device) for name, tensor in tensors.items()}
        optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        shuffling = torch.Generator().manual_seed(self.seed)
        best_score, best_state, epochs_without_gain = -math.inf, None, 0
        devices = [self.device] if self.device.type == "cuda" else []
        epochs = tqdm(range(1, config.max_epochs + 1), desc=self.name, disable=not self.show_progress)
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            for epoch in epochs:
                loss = self._train_epoch(data, optimizer, shuffling, epoch)
                result = evaluate_scorer(
                    self,
                    validation_split,
                    num_items,
                    self.policy,
                    config.eval_batch_size,
                    split="validation",
                    show_progress=False,
                )
                validation = result["metrics"][EARLY_STOPPING_METRIC]
                self.epoch_log.append({"epoch": epoch, "loss": loss, f"validation_{EARLY_STOPPING_METRIC}": validation})
                if validation > best_score:
                    best_score, self.best_epoch, epochs_without_gain = validation, epoch, 0
                    best_state = copy.deepcopy(self.model.state_dict())
                else:
                    epochs_without_gain += 1
                epochs.set_postfix(loss=f"{loss:.4f}", val_ndcg10=f"{validation:.4f}", best_epoch=self.best_epoch)
                if epochs_without_gain >= config.patience:
                    break
        self.model.load_state_dict(best_state)
        self.model.eval()
        self.is_fitted = True
        return self

    def fit_record(self) -> dict[str, Any]:
        """What the study records about fitting: the configuration, and the epochs trained and kept."""
        epochs = len(self.epoch_log)
        return {
            "settings": {"sasrec_config": asdict(self.config)},
            "training": {
                "best_epoch": self.best_epoch,
                "epochs": epochs,
                "epoch_log": self.epoch_log,
                "stop_reason": "early_stopping" if epochs < self.config.max_epochs else "max_epochs",
            },
        }

    def _train_epoch(
        self, data: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, shuffling: torch.Generator, epoch: int
    ) -> float:
        """One pass over the shuffled training tensors, with a progress bar over its batches (an epoch of a large log
        takes minutes on a busy CPU); returns the mean loss per supervised position."""
        self.model.train()
        order = torch.randperm(len(data["items"]), generator=shuffling).to(self.device)
        total_loss, total_labels = 0.0, 0
        batches = tqdm(
            order.split(self.config.batch_size), desc=f"epoch {epoch}", leave=False, disable=not self.show_progress
        )
        for batch in batches:
            items, lengths, labels = data["items"][batch], data["lengths"][batch], data["labels"][batch]
            width = int(lengths.max())
            items, labels = items[:, :width], labels[:, :width]
            supervised = labels != IGNORE_INDEX
            hidden = self.model(items, lengths)[supervised]
            loss = F.cross_entropy(self.model.logits(hidden), labels[supervised])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(hidden)
            total_labels += len(hidden)
        return total_loss / total_labels

    def score(self, examples: list[Mapping]) -> torch.Tensor:
        """`(batch, num_items)` float scores from the hidden state at each example's last history item."""
        items, lengths = pad_histories(
            [example["history"] for example in examples], self.num_items, self.config.max_length
        )
        items, lengths = items.to(self.device), lengths.to(self.device)
        self.model.eval()
        with torch.no_grad():
            hidden = self.model(items, lengths)
            last = hidden[torch.arange(len(examples), device=self.device), lengths - 1]
            return self.model.logits(last)

    __call__ = score

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        """Writes `config.json` and `model.safetensors`; staged beside `folder` and renamed into place."""
        record: dict[str, Any] = {
            "model_type": "sasrec",
            "num_items": self.num_items,
            "seed": self.seed,
            "config": asdict(self.config),
            "best_epoch": self.best_epoch,
            "epoch_log": self.epoch_log,
        }
        with staged_dir(Path(folder)) as staging:
            (staging / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            state = {name: tensor.detach().cpu().contiguous() for name, tensor in self.model.state_dict().items()}
            save_file(state, str(staging / WEIGHTS_FILE))

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: torch.device | str = "cpu") -> "SASRec":
        """Loads what `save_pretrained` wrote."""
        root = Path(folder)
        missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (root / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{root}: not a saved SASRec, missing {missing}.")
        record = read_json_object(root / CONFIG_FILE, "a saved SASRec", ("config", "num_items", "seed"))
        config = SASRecConfig(**record["config"])
        scorer = cls(record["num_items"], config, record["seed"], device)
        scorer.model.load_state_dict(load_file(str(root / WEIGHTS_FILE), device=str(scorer.device)))
        scorer.best_epoch, scorer.epoch_log = record.get("best_epoch"), record.get("epoch_log", [])
        scorer.is_fitted = True
        scorer.model.eval()
        return scorer
