"""Preparation throughput and peak memory on a generated Amazon-2018-format dump.

Generates `--reviews` review lines (gzip JSON lines with the real keys, review texts included) and a meta file in
a temporary directory, then runs `iamrec.prepare_dataset` in a child process and reports wall time,
interactions/s (input reviews per second) and the child's peak RSS. Writes benchmarks/results/prepare.json.

    .venv/bin/python benchmarks/bench_prepare.py [--reviews 1000000]
"""

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from environment import environment, write_result

RESULTS = Path(__file__).parent / "results" / "prepare.json"
CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from iamrec import prepare_dataset
imported = time.perf_counter()
import_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
prepared = prepare_dataset(
    sys.argv[1], format="amazon2018", interactions=[sys.argv[2]], items=[sys.argv[3]], progress=False
)
done = time.perf_counter()
statistics = prepared.protocol["statistics"]
print(json.dumps({"import_rss_kib": import_rss_kib, "import_s": imported - start, "prepare_s": done - imported,
                  "statistics": statistics}))
"""


def zipf_choice(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.permutation(n)[rng.choice(n, size=size, p=weights / weights.sum())]


def generate(folder: Path, reviews: int, seed: int = 0) -> tuple[Path, Path]:
    """Review and meta files shaped like the 2018 dump (long-tailed users and items, ~5% untitled items)."""
    rng = np.random.default_rng(seed)
    users, items = max(reviews // 7, 10), max(reviews // 20, 10)
    user = zipf_choice(rng, users, reviews, 0.7)
    item = zipf_choice(rng, items, reviews, 0.9)
    when = rng.integers(1_262_304_000, 1_538_352_000, reviews)
    words = [f"w{i}" for i in range(5000)]
    texts = [json.dumps(" ".join(rng.choice(words, size=rng.integers(10, 120)))) for _ in range(4000)]
    text_of = rng.integers(0, len(texts), reviews)
    line = (
        '{"overall": 5.0, "verified": true, "reviewTime": "%s", "reviewerID": "A%013X", "asin": "B%09d", '
        '"style": {"Format:": " Paperback"}, "reviewerName": "Reviewer", "reviewText": %s, "summary": %s, '
        '"unixReviewTime": %d}\n'
    )
    review_path = folder / "Generated_5.json.gz"
    with gzip.open(review_path, "wt", encoding="utf-8", compresslevel=6) as handle:
        for u, i, t, x in zip(user.tolist(), item.tolist(), when.tolist(), text_of.tolist()):
            day = time.strftime("%m %d, %Y", time.gmtime(t - t % 86400))
            handle.write(line % (day, u, i, texts[x], texts[x][:40] + '"', t))
    meta_path = folder / "meta_Generated.json.gz"
    with gzip.open(meta_path, "wt", encoding="utf-8", compresslevel=6) as handle:
        for i in range(items):
            record = {
                "category": ["Books"],
                "description": [texts[i % len(texts)]],
                "asin": f"B{i:09d}",
                "also_buy": [],
            }
            if i % 20:
                record["title"] = f"Item {i} &amp; friends" if i % 7 == 0 else f"Item {i}"
            handle.write(json.dumps(record) + "\n")
    return review_path, meta_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iamrec-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        reviews, meta = generate(folder, args.reviews)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder / "out"), str(reviews), str(meta)],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        inside = json.loads(child.stdout.strip().splitlines()[-1])
        result = {
            "environment": environment(),
            "benchmark": "prepare amazon2018 (generated), default protocol (5-core, 10 history, 8:1:1)",
            "command": f"python benchmarks/bench_prepare.py --reviews {args.reviews}",
            "reviews": args.reviews,
            "reviews_gz_mib": round(reviews.stat().st_size / 2**20, 1),
            "generation_s": round(generated, 1),
            "child_wall_s": round(wall, 2),
            "import_s": round(inside["import_s"], 2),
            "prepare_s": round(inside["prepare_s"], 2),
            "interactions_per_s": round(args.reviews / inside["prepare_s"]),
            "interactions_per_s_with_startup": round(args.reviews / wall),
            "peak_rss_mib": round(peak_kib / 1024),
            "rss_after_import_mib": round(inside["import_rss_kib"] / 1024),  # torch + transformers via `import iamrec`
            "kept": {k: inside["statistics"][k] for k in ("users", "items", "interactions", "density", "samples")},
        }
    write_result(result, RESULTS)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
