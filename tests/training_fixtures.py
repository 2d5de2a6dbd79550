"""A tiny prepared dataset and a tiny Llama base checkpoint, so training tests run in seconds on a CPU."""

import csv
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from iamrec.data import ProtocolConfig, prepare_dataset
from iamrec.training import IAMRecArguments, RecTrainingArguments
from tokenizer_fixtures import TITLES, tiny_tokenizer

NUM_USERS, EVENTS_PER_USER = 24, 12


def write_tiny_data(root: Path, config: ProtocolConfig | None = None) -> Path:
    """Users walk the catalog in order (item i, then i + 1), each from their own starting point, a day apart."""
    interactions, items = root / "interactions.csv", root / "items.csv"
    with interactions.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "timestamp"])
        for user in range(NUM_USERS):
            for step in range(EVENTS_PER_USER):
                writer.writerow([f"u{user}", f"i{(user + step) % len(TITLES):02d}", 86400 * step + user])
    with items.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "title"])
        writer.writerows([f"i{index:02d}", title] for index, title in enumerate(TITLES))
    data_dir = root / ("data" if config is None else "data-cold")
    prepare_dataset(data_dir, format="csv", interactions=[interactions], items=[items], config=config, progress=False)
    return data_dir


def write_tiny_base_model(root: Path) -> Path:
    tokenizer = tiny_tokenizer(add_bos=False)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
    )
    path = root / "base"
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def tiny_arguments(
    data_dir: Path, base: Path, output_dir: Path, **training
) -> tuple[IAMRecArguments, RecTrainingArguments]:
    args = IAMRecArguments(
        data_dir=str(data_dir), base_model=str(base), schedule="hatllm", num_intra=1, num_inter_last=1, max_length=256
    )
    values = dict(
        output_dir=str(output_dir),
        max_steps=6,
        eval_steps=2,
        save_steps=2,
        logging_steps=1,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=8,
        learning_rate=5e-3,
        disable_tqdm=True,
        seed=7,
        dataloader_num_workers=0,
    )
    values.update(training)
    return args, RecTrainingArguments(**values)
