"""Moved to `iamrec.training` (the loop is `training/loop.py`); `iamrec.train.train` and its other names still import
from here."""

from .training.loop import (  # noqa: F401
    TrainResult,
    build_model,
    check_output_dir,
    held_out_items,
    popularity_bias,
    save_model_dir,
    train,
    training_examples,
)
