"""Moved to `iamrec.baselines.sasrec`; this name stays so that existing imports keep working."""

from ..baselines.sasrec import (  # noqa: F401
    EARLY_STOPPING_METRIC,
    IGNORE_INDEX,
    SUPERVISIONS,
    SASRec,
    SASRecConfig,
    SASRecModel,
    SelfAttentionBlock,
    causal_padding_mask,
    pad_histories,
    training_tensors,
)
