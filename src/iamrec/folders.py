"""Every file and folder name of a prepared dataset, a training run, a model folder and the commands' outputs, owned
here once. Checking that a folder is complete is `folder_checks`; writing one atomically, `atomic`; resuming from a
checkpoint, `training.resume`."""

# A prepared dataset (`iamrec prepare --output-dir`).
PROTOCOL_FILE = "protocol.json"
SPLITS_DIR = "splits"
CATALOG_DIR = "catalog"

# Any output folder of `iamrec train` and `iamrec study`: held by one process at a time (`locks`).
LOCK_FILE, LOCK_HOLDER_FILE = ".iamrec.lock", ".iamrec.lock.holder"

# A training run (`iamrec train --output_dir`): Trainer checkpoints, and the final model folder.
MODEL_DIR = "model"
CHECKPOINT_PREFIX = "checkpoint-"
CHECKPOINT_STATE_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
"""What a Trainer checkpoint needs besides its weights to resume exactly where it stopped."""
CHECKPOINT_SETTINGS_FILE = "iamrec_settings.json"
"""In each checkpoint: the settings that define the run, compared with a resuming run's."""
CHECKPOINT_WEIGHTS_FILES = ("adapter_model.safetensors", "model.safetensors")
ADAPTER_CONFIG = "adapter_config.json"
"""Beside LoRA weights: without it the Trainer cannot load them back."""
RNG_STATE_PATTERN = "rng_state*.pth"
"""rng_state.pth, or one rng_state_<rank>.pth per process of a data-parallel run."""

# A model folder: what `save_pretrained` of model and processor write, and what iamrec adds beside them.
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PROCESSOR_FILE = "processor_config.json"
TOKENIZER_FILE = "tokenizer.json"
RUN_FILE = "iamrec_run.json"
"""Written by `iamrec train`: arguments, schedule, data protocol, best validation metric, log history."""
EVAL_FILE = "eval_results.json"
"""Written by `iamrec evaluate --output` (or the demo): the test metrics the model card shows."""
REQUIRED_MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, PROCESSOR_FILE, TOKENIZER_FILE)
MODEL_CONFIG_HOLDS = "the model configuration written by `iamrec train`"
MODEL_CONFIG_KEYS = ("model_type", "num_items", "num_hidden_layers", "item_mask_modes")
"""What the loaders and the model card read from `config.json` before transformers checks the rest."""

# `iamrec study --output-dir`: results/<configuration>/seed-<seed>.json, the summaries, and work/ while training.
STUDY_RESULTS_DIR, STUDY_WORK_DIR = "results", "work"
STUDY_SUMMARY_JSON, STUDY_SUMMARY_MD = "summary.json", "summary.md"

# `iamrec analyze-attention --output-dir`.
ATTENTION_JSON, ATTENTION_PLOT = "attention_shares.json", "attention_shares.png"

# `iamrec demo --output-dir`.
DEMO_DATA_DIR, DEMO_TRAIN_DIR, DEMO_HUB_DIR, DEMO_REPORT_FILE = "data", "train", "hub_upload", "demo_report.json"
