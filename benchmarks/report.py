"""Writes docs/results.md and the README's results regions from the files under benchmarks/results/.

Every table is rendered from its result files by its layout (`report_tables.py`), listed once in TABLES below with
the command that produced it, so a published table cannot disagree with its JSON. A layout is a declaration (which
entries of the file make the rows, a header and a template per column, the notes under the table: `report_layout.py`)
that one function renders, or a function where a table takes more than picking and formatting fields.

Under each table: the command, the date, the commit and the environment, read from the files' `environment` block
(`benchmarks/environment.py`). Files without one give what version fields they hold, and their date and commit come
from `git log` (the last commit that changed them, which is the one that added these numbers, skipping commits whose
message says "(numbers unchanged)": rewrites of paths or formatting); the line says so.

    python benchmarks/report.py          # rewrite docs/results.md and the README's marked regions
    python benchmarks/report.py --check  # exit 1 if either differs from what the results give

A new result is one `Table(...)` entry in TABLES. A folder written by `iamrec study` needs no new code
(`render=study`); a JSON of another layout needs an `EntryTable(...)` or `LabelTable(...)` declaration in
report_tables.py (or `one(t.records)` for a flat one).
"""

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import report_tables as t  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RESULTS_DOC = ROOT / "docs" / "results.md"
README = ROOT / "README.md"
SOFTWARE = ("python", "torch", "transformers", "peft")


@dataclass(frozen=True)
class Table:
    """One published table: its section and title, its result files (relative to benchmarks/results/), the layout
    that renders them, and the command that produced them."""

    section: str
    title: str
    sources: tuple[str, ...]
    render: Callable[[list[Path]], list[str]]
    command: str
    about: str = ""
    extra_sources: tuple[str, ...] = field(default=())  # read for provenance only (e.g. an environment.json)


def one(render: Callable[[Path], list[str]]) -> Callable[[list[Path]], list[str]]:
    """A renderer of the first source, for tables with one result file or folder (the others, if any, are listed for
    provenance only)."""
    return lambda paths: render(paths[0])


study = one(t.study)
STUDY_CPU = "iamrec study --data-dir runs/ml-100k --output-dir runs/study --grid main --seeds 0 1 2 --budget cpu"
COLD = "iamrec study --data-dir runs/ml-100k-cold --output-dir runs/cold --grid cold_start --budget cpu --parallel 2"
GPU_EVERY_ITEM = "DATA=runs/ml-100k RESULTS=<folder> bash benchmarks/gpu_every_item.sh"
H200 = "gpu_every_item_h200"
THROUGHPUT = (
    "`iamrec train`'s own step on the same model: `last` (one prompt per target) against `every_item` "
    "(CHUNK:CONTEXT items per sequence), measured in one process with the formats' steps interleaved. Tokens per "
    "target are exact."
)
GPU = "python benchmarks/gpu_check.py --device cuda --data-dir runs/ml-100k --random-base-model SHAPE_DIR"
QUALITY, LATEST_SMALL, ATTENTION, NEW_ITEMS, CPU, ON_GPU = (
    "Quality on ML-100K",
    "Quality on MovieLens latest-small",
    "Attention",
    "New items",
    "Speed and memory on CPU",
    "One GPU",
)

TABLES = [
    Table(
        QUALITY,
        "The demo",
        ("demo_cpu/demo_report.json",),
        t.DEMO,
        "iamrec demo",
        "SmolLM2-135M-Instruct cut to 3 layers, HatLLM schedule, item vectors added to every title token, LoRA, "
        "every_item supervision for 600 steps of 4,096-token batches of 20-item sequences on the fast path (bf16 base, "
        "compiled decoder layers; the `default` budget), checkpoints selected on 1,000 sampled validation examples, "
        "seed 42, on ML-100K as `iamrec prepare` now numbers it; test split ranked in bf16 next to MostPopular and "
        "Random.",
    ),
    Table(
        QUALITY,
        "Quality study, CPU budget",
        ("study_cpu",),
        study,
        STUDY_CPU,
        "Each LLM configuration trains at the demo's budget, once per seed; SASRec trains to early stopping. "
        "The bootstrap resamples test examples (example noise); the t-test pairs per-seed differences (seed noise).",
    ),
    Table(
        QUALITY,
        "Quality study, CPU budget, every_item supervision",
        ("study_cpu_every_item",),
        study,
        STUDY_CPU + " --supervision every_item",
        "The same budget, data and test examples as the study above, each LLM run trained on every item of users' "
        "sequences (20 items, 10 of context after a user's first) for 140 steps (354 s of training on 2 CPU cores "
        "in the demo, less than the 300 steps above take). "
        "MostPopular and SASRec do not depend on it: see the study above.",
    ),
    Table(
        QUALITY,
        "Quality study, CPU budget, every_item on the fast path",
        ("study_cpu_fast",),
        study,
        STUDY_CPU.replace("--grid main", "--grid full hatllm").replace("runs/study ", "runs/study_fast ")
        + " --supervision every_item",
        "The study above's budget in steps (140 of every_item), on the fast path that is now the default: the frozen "
        "base in bf16 under bf16 autocast, LoRA dropout 0, 4,096-token batches in 32-token length buckets, compiled "
        "decoder layers. MostPopular and SASRec: see the first study.",
    ),
    Table(
        QUALITY,
        "The fast path against the former one",
        ("fast_path_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu_every_item --candidate "
        "benchmarks/results/study_cpu_fast --labels former fast --output "
        "benchmarks/results/fast_path_comparison_cpu.json",
        "Each configuration of the two every_item studies above (same steps, data and test examples; former: "
        "float32, LoRA dropout 0.05, 16 rows per batch) paired per test example, with the study's bootstrap over "
        "examples and t-test over seeds.",
    ),
    Table(
        QUALITY,
        "every_item against last",
        ("supervision_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu "
        "--candidate benchmarks/results/study_cpu_every_item --labels last every_item "
        "--output benchmarks/results/supervision_comparison_cpu.json",
        "Each configuration of the two studies above paired per test example (NDCG@10, averaged over the seeds both "
        "have), with the study's bootstrap over examples and t-test over seeds.",
    ),
    Table(
        QUALITY,
        "The 3-layer model to early stopping on CPU, every_item",
        ("converge_cpu",),
        study,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/converge_cpu --grid hatllm --seeds 0 --budget converge "
        "--supervision every_item --budget-minutes 105",
        "The CPU budget's model, batch and learning rate, validated every 250 steps on the first 1,000 validation "
        "examples, stopped when 4 validations in a row did not improve on the best (2 CPU cores). One seed.",
    ),
    Table(
        QUALITY,
        "The 3-layer model to early stopping on CPU, on the fast path",
        ("converge_cpu_fast",),
        study,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/converge_cpu_fast --grid hatllm --seeds 0 --budget "
        "converge --supervision every_item",
        "The run above on the fast path (bf16 base, LoRA dropout 0, 4,096-token batches, compiled decoder layers), "
        "validated every 250 steps on the first 1,000 validation examples, early stopping with patience 4, 2 CPU "
        "cores. One seed.",
    ),
    Table(
        QUALITY,
        "The fast path against the former one at convergence",
        ("fast_path_converge_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "python benchmarks/compare_studies.py --reference benchmarks/results/converge_cpu --candidate "
        "benchmarks/results/converge_cpu_fast --labels former fast --output "
        "benchmarks/results/fast_path_converge_comparison_cpu.json",
        "The two early-stopped runs above paired per test example. One seed each: the bootstrap covers example "
        "noise only, and no t-test over seeds is possible.",
    ),
    Table(
        QUALITY,
        "The 30-layer model on one GPU, every_item",
        (f"{H200}/full_model",),
        study,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/full_model --grid hatllm --seeds 0 --budget gpu "
        "--supervision every_item --budget-minutes 3.65",
        "The whole SmolLM2-135M-Instruct (HatLLM schedule: 4 `intra`, 25 `full`, 1 `inter_last`), batch 32 sequences "
        "of 20 items, bf16 autocast, stopped by its 3.65-minute box on an H200 that it shared with the runs below. "
        "One seed; validation and test on the device.",
    ),
    Table(
        QUALITY,
        "The 3-layer model trained further on one GPU, every_item",
        (f"{H200}/converge",),
        study,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/converge --grid hatllm --seeds 0 --budget converge "
        "--supervision every_item --budget-minutes 3.65",
        "The CPU budget's model, batch and learning rate, validated every 250 steps; the box ended it (at 1,429 "
        "steps, about 3 epochs) one validation after its best, before early stopping (patience 4) would have.",
    ),
    Table(
        QUALITY,
        "Validation curves of the longer runs",
        ("converge_cpu", f"{H200}/converge", f"{H200}/full_model"),
        t.VALIDATION_CURVES,
        GPU_EVERY_ITEM,
        "Validation NDCG@10 at each evaluation (the first 1,000 validation examples for the 3-layer runs, all 9,834 "
        "for the 30-layer run); the test number is the best validation checkpoint's.",
    ),
    Table(
        QUALITY,
        "The longer runs against SASRec",
        (f"{H200}/against_sasrec.json",),
        one(t.against_sasrec),
        "python benchmarks/compare_to_sasrec.py --sasrec benchmarks/results/study_cpu --runs "
        f"benchmarks/results/converge_cpu benchmarks/results/{H200}/full_model benchmarks/results/{H200}/converge",
        "Each run paired per test example with SASRec's per-example NDCG@10 averaged over its 3 seeds (the "
        "`study_cpu` SASRec, trained to early stopping). The bootstrap covers example noise; one LLM seed does not "
        "cover seed noise.",
    ),
    Table(
        QUALITY,
        "Item vectors beside the titles, CPU budget",
        ("study_cpu_item_ids",),
        study,
        STUDY_CPU.replace("--grid main", "--grid item_ids").replace("runs/study ", "runs/study_item_ids ")
        + " --supervision every_item --sample first --sasrec-dir runs/sasrec/seed0",
        "The fast-path every_item study's budget (140 steps of 4,096 tokens), with `hatllm` and `full` from that "
        "study (same code path, same numbers) beside `hatllm` with a learned vector per item on the input side "
        "(`--item_id_embeddings`): added to every title token (`hatllm_ids`), to the last one (`hatllm_ids_last`), in "
        "a position of its own (`hatllm_ids_token`), the head's rows as the vectors (`hatllm_ids_tied`), or started "
        "from a SASRec's item table (seed 0, trained to early stopping on the same split by `python "
        "benchmarks/sasrec_ml100k.py --seeds 0 --save-dir runs/sasrec`, whose result is "
        "`sasrec_item_table_ml100k.json`: test NDCG@10 0.0778) "
        "through a learned projection (`hatllm_ids_sasrec`). MostPopular and SASRec: see the first study.",
        ("sasrec_item_table_ml100k.json",),
    ),
    Table(
        QUALITY,
        "Item vectors against titles alone, CPU budget",
        ("item_ids_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu_item_ids --candidate "
        "benchmarks/results/study_cpu_item_ids --reference-configuration hatllm --labels hatllm candidate "
        "--output benchmarks/results/item_ids_comparison_cpu.json",
        "Each configuration of the study above paired per test example against `hatllm` (the same schedule reading "
        "titles alone), with the study's bootstrap over examples and t-test over seeds.",
    ),
    Table(
        QUALITY,
        "Checkpoints selected on a seeded validation sample, CPU budget",
        ("sample_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/study_sample --grid hatllm --seeds 0 1 2 --budget cpu "
        "--supervision every_item --sample examples --parallel 2 && python benchmarks/compare_studies.py --reference "
        "benchmarks/results/study_cpu_item_ids --candidate benchmarks/results/study_cpu_sample --labels first "
        "examples --output benchmarks/results/sample_comparison_cpu.json",
        "`hatllm` of the every_item study above, whose checkpoints were selected on the first 1,000 validation "
        "examples of the time-ordered split (`first`), against the same runs selecting on a seeded sample of 1,000 "
        "across the split (`examples`, the default now); the test split is whole in both. Every seed of both kept its "
        "last checkpoint (step 140: validation NDCG@10 still rising), so the sample cannot change which model is "
        "tested at this budget; what differs is run-to-run arithmetic (1 torch thread per run here, 2 there).",
        ("study_cpu_sample",),
    ),
    Table(
        QUALITY,
        "Checkpoints selected on a seeded validation sample, the demo's budget",
        ("demo_sample_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/demo_budget_sample --grid hatllm_ids --seeds 0 1 2 "
        "--budget demo --supervision every_item --sample examples --parallel 2 && python benchmarks/compare_studies.py "
        "--reference benchmarks/results/demo_budget_item_ids --candidate benchmarks/results/demo_budget_sample "
        "--labels first examples --output benchmarks/results/demo_sample_comparison_cpu.json",
        "The same question at the demo's budget (600 steps, validation every 150): `hatllm_ids` selecting its "
        "checkpoint on the first 1,000 validation examples against a seeded sample of 1,000. Each seed picked the same "
        "step under both (600, 450 and 600), so here too the sample does not change the model tested; the differences "
        "are run-to-run arithmetic.",
        ("demo_budget_sample",),
    ),
    Table(
        QUALITY,
        "Item-vector variants against `add`, CPU budget",
        ("item_ids_variants_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "python benchmarks/compare_studies.py --reference benchmarks/results/study_cpu_item_ids --candidate "
        "benchmarks/results/study_cpu_item_ids --reference-configuration hatllm_ids --labels hatllm_ids candidate "
        "--output benchmarks/results/item_ids_variants_comparison_cpu.json",
        "The same study, each configuration paired against `hatllm_ids` (random vectors added to every title token).",
    ),
    Table(
        QUALITY,
        "Item vectors at the demo's budget",
        ("demo_budget_item_ids",),
        study,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/demo_budget_ids --grid hatllm_ids --seeds 0 1 2 "
        "--budget demo --supervision every_item",
        "The demo's recipe (3 layers, `add` item vectors, 600 every_item steps of 4,096 tokens with the learning rate "
        "decaying linearly to 0, validation every 150 steps on 1,000 sampled validation examples, best checkpoint "
        "kept), three seeds, on the same data and test examples as the studies above.",
    ),
    Table(
        QUALITY,
        "Item vectors at the demo's budget against SASRec",
        ("demo_budget_item_ids_against_sasrec.json",),
        one(t.against_sasrec),
        "python benchmarks/compare_to_sasrec.py --sasrec benchmarks/results/study_cpu --runs "
        "benchmarks/results/demo_budget_item_ids --output benchmarks/results/demo_budget_item_ids_against_sasrec.json",
        "Each seed of the run above paired per test example with SASRec's per-example NDCG@10 averaged over its 3 "
        "seeds (trained to early stopping).",
    ),
    Table(
        QUALITY,
        "Item vectors to early stopping on CPU",
        ("converge_cpu_item_ids",),
        study,
        "iamrec study --data-dir runs/ml-100k --output-dir runs/converge_item_ids --grid hatllm_ids --seeds 0 --budget "
        "converge --supervision every_item --sample first",
        "The fast-path convergence run above with item vectors added to every title token (`hatllm_ids`, randomly "
        "initialised), everything else equal: validated every 250 steps on the first 1,000 validation examples, "
        "early stopping with patience 4, 2 CPU cores. One seed.",
    ),
    Table(
        QUALITY,
        "Item vectors against titles alone at convergence",
        ("item_ids_converge_comparison_cpu.json",),
        t.STUDY_COMPARISON,
        "python benchmarks/compare_studies.py --reference benchmarks/results/converge_cpu_fast --candidate "
        "benchmarks/results/converge_cpu_item_ids --reference-configuration hatllm --labels titles ids --output "
        "benchmarks/results/item_ids_converge_comparison_cpu.json",
        "The two early-stopped runs paired per test example. One seed each: the bootstrap covers example noise only.",
    ),
    Table(
        QUALITY,
        "Item vectors at convergence against SASRec",
        ("converge_cpu_item_ids_against_sasrec.json",),
        one(t.against_sasrec),
        "python benchmarks/compare_to_sasrec.py --sasrec benchmarks/results/study_cpu --runs "
        "benchmarks/results/converge_cpu_fast benchmarks/results/converge_cpu_item_ids "
        "--output benchmarks/results/converge_cpu_item_ids_against_sasrec.json",
        "The 3-layer model trained to early stopping on 2 CPU cores with titles alone and with item vectors, each "
        "paired per test example with SASRec's per-example NDCG@10 averaged over its 3 seeds. One LLM seed each: the "
        "bootstrap covers example noise, not seed noise.",
    ),
    Table(
        QUALITY,
        "The fast-path convergence run against SASRec",
        ("converge_cpu_fast_against_sasrec.json",),
        one(t.against_sasrec),
        "python benchmarks/compare_to_sasrec.py --sasrec benchmarks/results/study_cpu --runs "
        "benchmarks/results/converge_cpu benchmarks/results/converge_cpu_fast "
        "--output benchmarks/results/converge_cpu_fast_against_sasrec.json",
        "The 3-layer model trained to early stopping on 2 CPU cores, before and on the fast path, each paired per "
        "test example with SASRec's per-example NDCG@10 averaged over its 3 seeds. One LLM seed each: the bootstrap "
        "covers example noise, not seed noise.",
    ),
    Table(
        QUALITY,
        "Chunking at the CPU budget",
        (f"{H200}/chunking_sweep.json", f"{H200}/chunking_sweep"),
        one(t.CHUNKING_SWEEP.file),
        f"python benchmarks/chunking_sweep.py --sweep-dir benchmarks/results/{H200}/chunking_sweep",
        "HatLLM on the 3-layer model, batch 16, lr 1e-3, at the training tokens of the default's 140 steps (fewer "
        "steps for longer rows), seeds 0-2, trained and tested on an H200 (fp32 ranking). `CHUNK:CONTEXT`: items per "
        "training row, and items of context that start each of a user's later rows. Each chunking is paired with "
        "the default seed by seed.",
    ),
    Table(
        QUALITY,
        "SASRec to convergence",
        ("sasrec_ml100k_last_position.json", "sasrec_ml100k.json"),
        t.SASREC,
        "python benchmarks/sasrec_ml100k.py --data-dir runs/ml-100k --seeds 0 1 2 --supervision last_position "
        "--output benchmarks/results/sasrec_ml100k_last_position.json",
        "One row per loss (`--supervision last_position`, `every_position`). 2 layers, 64 dimensions, "
        "full-catalog cross-entropy, Adam 1e-3, batch 256, dropout 0.2, early stopping on validation NDCG@10 "
        "(patience 8).",
    ),
    Table(
        QUALITY,
        "Baselines under each evaluation policy",
        ("evaluation_cpu.json",),
        t.EVALUATION_BASELINES,
        "python benchmarks/bench_evaluation.py",
        "Counting rules of MostPopular, and history items kept in or excluded from the ranking.",
    ),
    Table(
        LATEST_SMALL,
        "The study at the CPU budget",
        ("study_cpu_latest_small",),
        study,
        "iamrec prepare --dataset ml-latest-small --output-dir runs/ml-latest-small && iamrec study --data-dir "
        "runs/ml-latest-small --output-dir runs/study_latest_small --grid full hatllm hatllm_ids most_popular sasrec "
        "--seeds 0 1 2 --budget cpu --supervision every_item --parallel 2",
        "MovieLens latest-small (2016) under the default protocol: 3,496 items after the 5-core, 71,520 training "
        "examples, the whole test split of 8,941 examples from 84 users (its 5 most active users hold 30% of them), "
        "checkpoints selected on a seeded sample of 1,000 validation examples. The LLM runs train at the ML-100K "
        "study's budget (3 layers, 140 every_item steps of 4,096 tokens: about a third of one epoch here), with titles "
        "alone (`full`, `hatllm`) or with item vectors added to the title tokens (`hatllm_ids`); SASRec trains to "
        "early stopping. At this budget every LLM configuration stays close to MostPopular and far below SASRec.",
    ),
    Table(
        LATEST_SMALL,
        "RecBole's SASRec on the same examples, both datasets",
        ("recbole_ml-100k.json", "recbole_ml-latest-small.json"),
        t.RECBOLE,
        "bash benchmarks/recbole_setup.sh .venv-recbole && .venv-recbole/bin/python benchmarks/recbole_models.py "
        "--data-dir runs/ml-100k --models SASRec --seeds 0 --batch-size 256 --output "
        "benchmarks/results/recbole_ml-100k.json (and likewise for runs/ml-latest-small)",
        "RecBole 1.2.1's SASRec with its own defaults (2 layers, 64 dimensions, dropout 0.5, Adam 1e-3, "
        "cross-entropy over the catalog) but our SASRec's batch of 256 (RecBole's 2,048 needs several times the "
        "epochs), trained by RecBole's Trainer on our exact training examples (`iamrec export-recbole`) with early "
        "stopping on its own validation NDCG@10 (10 epochs of patience), then ranked by our metric code on our "
        "validation and test splits. One seed per dataset: a second, independent SASRec beside ours (ML-100K "
        "0.0766 ± 0.0008, latest-small 0.0245 ± 0.0010, over 3 seeds in the studies).",
    ),
    Table(
        CPU,
        "Training speed: the fast path against float32 (CPU)",
        ("training_speed_cpu.json",),
        t.TRAINING_SPEED,
        "python benchmarks/training_speed.py --data-dir runs/ml-100k --steps 20 --warmup 3 --variants fp32 bf16 "
        "dropout0 fast fast_compile --profile",
        "`iamrec train`'s step on every_item 20:10 sequences, each variant adding one speed-up to the one before, "
        "measured in one process with their steps interleaved (run at real-time priority, so that other work on the "
        "machine did not preempt it). Step memory: the peak resident memory of a step above the models'. The "
        "compiled variant's warm-up holds its first compilations; each new batch shape compiles once more.",
    ),
    Table(
        CPU,
        "Training throughput of the two supervision formats (CPU)",
        ("supervision_throughput_cpu.json",),
        t.SUPERVISION_THROUGHPUT,
        "python benchmarks/supervision_throughput.py --data-dir runs/ml-100k",
        THROUGHPUT + " Step times depend on the machine's load (this file was measured beside a running study, "
        "which slowed every format: compare the ratios, not the seconds).",
    ),
    Table(
        ATTENTION,
        "Where attention goes (HatLLM Figure 2)",
        ("attention_ml100k/attention_shares.json",),
        one(t.attention_shares),
        "iamrec analyze-attention --models runs/demo/train/model --data-dir runs/ml-100k --output-dir runs/attention "
        "--num-users 200 --without-masks",
        "The demo's model (`intra, full, inter_last`): shares of item tokens' attention, and the final token's.",
    ),
    Table(
        ATTENTION,
        "Where attention goes with item vectors",
        ("attention_item_ids_ml100k/attention_shares.json",),
        one(t.attention_shares_by_model),
        "iamrec study --data-dir runs/ml-100k --output-dir runs/attention_models --grid hatllm hatllm_ids --seeds 0 "
        "--budget cpu --supervision every_item --sample first --keep-models; iamrec analyze-attention --models "
        "runs/attention_models/work/hatllm/seed-0/model runs/attention_models/work/hatllm_ids/seed-0/model "
        "--data-dir runs/ml-100k --output-dir runs/attention_item_ids --num-users 200",
        "The CPU study's `hatllm` and `hatllm_ids` runs of seed 0 (same schedule `intra, full, inter_last`, same "
        "budget), with titles alone and with item vectors added to every title token: shares of item tokens' "
        "attention per layer, and the final token's.",
    ),
    Table(
        NEW_ITEMS,
        "Cold start, cold items held out of training",
        ("cold_start_cpu",),
        study,
        "iamrec prepare --dataset ml-100k --output-dir runs/ml-100k-cold --cold_items_fraction 0.1 --seed 0; " + COLD,
        "10% of the target items are cold: never a training or validation target, and not in the catalog during "
        "training. `test` holds the warm targets; `test_cold` is ranked over the whole catalog and, in "
        "`test_cold_among_cold`, among the cold items only.",
    ),
    Table(
        NEW_ITEMS,
        "Cold start: the title head against the linear head on warm items",
        ("cold_start_cpu/paired_with_earlier_linear_head",),
        one(t.study_comparisons),
        COLD,
        "The summary of the previous table's runs with the linear head `hatllm` of the next table's runs added. "
        "Those trained with the cold items as negatives, which for warm targets changes only the cold items' rows.",
        ("cold_start_cpu/results", "cold_start_cpu_cold_items_as_negatives/results/hatllm"),
    ),
    Table(
        NEW_ITEMS,
        "Cold start, cold items as negatives",
        ("cold_start_cpu_cold_items_as_negatives",),
        study,
        COLD,
        "The same grid, run with the cold items kept in the catalog during training (so each step pushes their "
        "titles down) and ranked over the whole catalog only.",
    ),
    Table(
        NEW_ITEMS,
        "What a new item's bias buys",
        ("cold_title_signal.json",),
        t.COLD_TITLE_SIGNAL,
        "python benchmarks/cold_title_signal.py --data-dir runs/ml-100k-cold "
        "--model-dirs runs/cold-keep/work/hatllm_title_only/seed-{0,1,2}/model",
        "Title-head models without per-item corrections (cold items as negatives). Cold items get the bias of each "
        "row; their title order is compared with the same scores shuffled among them (equal exposure).",
    ),
    Table(
        NEW_ITEMS,
        "`add_items` speed",
        ("add_items_speed.json",),
        t.ADD_ITEMS_SPEED,
        "python benchmarks/add_items_speed.py",
        "Tokenizing included, SmolLM2 tokenizer, one torch thread.",
    ),
    Table(
        CPU,
        "Attention schedules against plain Llama",
        ("attention_cpu.json",),
        t.ATTENTION_SCHEDULES,
        "python benchmarks/bench_attention.py",
        "Same weights and batch, interleaved in one process; peak memory per configuration in a fresh process. "
        "`hatllm` here is `intra, full, full, inter_last`; `iam` is `intra, intra, inter, inter`.",
    ),
    Table(
        CPU,
        "Building masks at long sequences",
        ("masks_cpu.json",),
        t.MASKS,
        "python benchmarks/bench_masks.py --threads 1",
        "One `intra` or `inter_last` mask for one sequence, through `create_causal_mask`: the model's mask "
        "functions against a dense (batch x T x T) rule tensor. Medians of interleaved builds after a warm-up.",
    ),
    Table(
        CPU,
        "Data preparation",
        ("prepare.json",),
        t.PREPARE,
        "python benchmarks/bench_prepare.py --reviews 1000000",
        "A generated Amazon-2018-format file, default protocol, in a child process.",
    ),
    Table(
        CPU,
        "Collator",
        ("collator.json",),
        t.COLLATOR,
        "python benchmarks/bench_collator.py",
        "The SmolLM2 tokenizer; each title is tokenized once and cached.",
    ),
    Table(
        CPU,
        "Streaming evaluation",
        ("evaluation_cpu.json",),
        t.EVALUATION_STREAMING,
        "python benchmarks/bench_evaluation.py",
        "Ranks are kept, logits are not: memory stays flat where keeping every logit would grow with the examples.",
    ),
    Table(
        CPU,
        "Operator calls per training step",
        ("step_ops_cpu.json",),
        t.STEP_OPS,
        "python benchmarks/count_step_ops.py --data-dir runs/ml-100k",
        "On a GPU each call is at least one kernel launch, so at small batches step time follows this count.",
    ),
    Table(
        ON_GPU,
        "Training throughput of the two supervision formats (H200, 30 layers)",
        (f"{H200}/supervision_throughput.json",),
        t.SUPERVISION_THROUGHPUT,
        GPU_EVERY_ITEM,
        THROUGHPUT + " A second run of `--variants bf16 bf16_flex bf16_compile --chunkings 50:10` (flex "
        "attention's BlockMask and torch.compile) did not finish its 4 warm-up and 8 timed steps in 215 s, nor in "
        "80 s before it: no number for either.",
    ),
    Table(
        ON_GPU,
        "Evaluation on the device",
        ("gpu_check_h100/evaluation.json",),
        t.GPU_EVALUATION,
        GPU,
        "The whole ML-100K test split with the 30-layer model, loading included.",
        ("gpu_check_h100/environment.json",),
    ),
    Table(
        ON_GPU,
        "`iamrec train` throughput",
        ("gpu_check_h100",),
        t.GPU_TRAIN,
        GPU,
        "HatLLM schedule (4 `intra`, 25 `full`, 1 `inter_last`), LoRA r=8 on all 7 projections, bf16 autocast, "
        "sdpa, 40 steps. Steady: the median step after the first 10. Trainer: its own average over all steps.",
    ),
    Table(
        ON_GPU,
        "Masks against plain Llama",
        ("gpu_check_h100/step_throughput.json",),
        t.GPU_STEP_THROUGHPUT,
        GPU,
        "All weights trained; medians of 5 interleaved repeats.",
        ("gpu_check_h100/environment.json",),
    ),
    Table(
        ON_GPU,
        "Backends agree",
        ("gpu_check_h100/agreement.json",),
        one(t.gpu_agreement),
        GPU + " --only environment agreement",
        "4 layers, batch 4; schedules `full`, `hatllm` and `iam`.",
        ("gpu_check_h100/environment.json",),
    ),
    Table(
        ON_GPU,
        "Long sequences",
        ("gpu_check_h100/long_context.json",),
        t.GPU_LONG_CONTEXT,
        GPU,
        "Medians of 5.",
        ("gpu_check_h100/environment.json",),
    ),
]

UNPUBLISHED = {
    "gpu_check_h100/agreement_after_out_of_memory.json": "ran after a failed stage; agreement.json reran it",
    "cold_start_cpu_cold_items_as_negatives/without_reset": "one run scored without resetting the cold items",
}
"""Result files kept in the repository but in no table, and why."""

HEADLINE_STUDIES = ("study_cpu", "study_cpu_item_ids")
"""Study folders whose configurations make the headline table (README and the top of docs/results.md)."""
DEMO_REPORT = "demo_cpu/demo_report.json"
DEMO_BUDGET_STUDY = "demo_budget_item_ids"
"""The study of the demo's own budget, whose seeds the headline quotes beside the demo's one run."""


def render_results_doc(results: Path = RESULTS) -> str:
    """The whole of docs/results.md."""
    tables = [table for table in TABLES if all((results / source).exists() for source in table.sources)]
    lines = [
        "# Results",
        "",
        "Generated by `python benchmarks/report.py` from the files under "
        "[`benchmarks/results/`](../benchmarks/results/); edit those, not this page. Under each table: the "
        "command that produced it, its date and commit, and the software and machine it ran on. How to run each "
        "benchmark: [benchmarks/README.md](../benchmarks/README.md).",
        "",
        "Quality numbers are on MovieLens-100K prepared with the default protocol ([data.md](data.md)), but for "
        "the section on MovieLens latest-small: every test example ranked against the whole catalog (1,349 items), "
        "history items kept, ties counted against the target. The studies and comparisons below ran on data "
        "prepared before item ids were numbered in numeric order: `iamrec prepare --id_order text` gives their "
        "ids (the same examples, items numbered differently), and `--sample first` (`iamrec study`; `--eval_sample "
        "first` for `iamrec train`) their validation subsets.",
        "",
        "## Headline",
        "",
        *headline(results),
        "",
    ]
    sections = list(dict.fromkeys(table.section for table in tables))
    lines += [f"- [{section}](#{slug(section)})" for section in sections] + [""]
    for section in sections:
        lines += [f"## {section}", ""]
        for table in (table for table in tables if table.section == section):
            lines += [f"### {table.title}", ""]
            lines += [table.about, ""] if table.about else []
            lines += table.render([results / source for source in table.sources])
            lines += ["", provenance(table, results), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def headline(results: Path = RESULTS) -> list[str]:
    studies = [results / folder for folder in HEADLINE_STUDIES if (results / folder / "summary.json").is_file()]
    demo = results / DEMO_REPORT
    sources = [*(f"`{folder.name}`" for folder in studies), *(["`demo_cpu`"] if demo.is_file() else [])]
    return [
        *t.headline(studies, demo),
        "",
        f"Mean ± std over seeds, from {', '.join(sources)} under `benchmarks/results/`. Every LLM row is "
        "SmolLM2-135M-Instruct cut to 3 layers. The study rows train at the CPU budget (a small fraction of one "
        "epoch): `study_cpu` rows on one prompt per target for 300 steps, `study_cpu_item_ids` rows on every item of "
        "users' sequences (`--supervision every_item`) for 140 steps on the fast path, with titles alone (`full`, "
        "`hatllm`) or with item vectors beside them (`hatllm_ids*`). The demo row is one seed of `hatllm_ids` trained "
        "longer (600 every_item steps against 140, about 1.4 epochs, the learning rate decaying to 0)"
        f"{demo_budget_seeds(results)}. SASRec trains to early stopping.",
    ]


def demo_budget_seeds(results: Path) -> str:
    """What the seeds of the demo's budget reached, read from their study (nothing where it is absent)."""
    summary = results / DEMO_BUDGET_STUDY / "summary.json"
    if not summary.is_file():
        return ""
    runs = json.loads(summary.read_text())["configurations"]["hatllm_ids"]
    return (
        f": {len(runs['seeds'])} seeds of that budget reach {t.mean_std(runs['test_NDCG@10'])} (`{DEMO_BUDGET_STUDY}`)"
    )


def render_readme(readme: str, results: Path = RESULTS) -> str:
    """README.md with its marked regions regenerated; the demo region only once its report exists."""
    details = "Details, commands and environments: [docs/results.md](docs/results.md)."
    readme = replace_region(readme, "headline", [*headline(results), "", details])
    demo = results / DEMO_REPORT
    if demo.is_file():
        source = "From `benchmarks/results/demo_cpu/`, written by `iamrec demo`."
        readme = replace_region(readme, "demo", [*t.DEMO([demo]), "", source])
    return readme


def replace_region(text: str, name: str, lines: list[str]) -> str:
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README.md has no region {start} ... {end}")
    return pattern.sub(lambda _: "\n".join([start, *lines, end]), text)


def provenance(table: Table, results: Path = RESULTS) -> str:
    """Where a table comes from: files, command, date and commit, software, machine."""
    paths = [results / source for source in table.sources]
    record = recorded_environment([*paths, *(results / extra for extra in table.extra_sources)])
    files = ", ".join(f"`{path.relative_to(results.parent.parent).as_posix()}`" for path in paths)
    if record.get("commit") and record.get("date"):
        changes = " with uncommitted changes" if record.get("uncommitted_changes") else ""
        when = f"run on {record['date']} at commit `{record['commit']}`{changes}"
    else:
        commit, date = last_commit(paths)
        when = (
            f"committed on {date} in `{commit}` (from `git log`: the files record no date or commit)"
            if commit
            else "not committed yet (the files record no date or commit)"
        )
    software = ", ".join(f"{name} {record.get(name) or 'not recorded'}" for name in SOFTWARE)
    command = record.get("command") or table.command
    return f"*Source: {files}; `{command}`; {when}; {software}; machine: {record.get('machine') or 'not recorded'}.*"


def recorded_environment(paths: list[Path]) -> dict:
    """The `environment` block of the first file that has one, else what the files' own fields say."""
    files = [p for path in paths for p in (sorted(path.rglob("*.json")) if path.is_dir() else [path]) if p.is_file()]
    found: dict = {}
    for path in files:
        data = json.loads(path.read_text())
        if isinstance(data.get("environment"), dict):
            block = data["environment"]
            return {**block, "machine": describe_machine(block.get("machine") or {}), "command": data.get("command")}
        for key, value in legacy_environment(data).items():
            found.setdefault(key, value)
    return found


def legacy_environment(data: dict) -> dict:
    """Versions and machine from the fields of result files that predate the environment block."""
    versions = {**data, **data.get("versions", {})} if isinstance(data.get("versions"), dict) else data
    machine = data.get("machine")
    found = {name: versions[name] for name in SOFTWARE if isinstance(versions.get(name), str)}
    if isinstance(machine, dict) and "python" in machine:
        found.setdefault("python", machine["python"])
    platform = machine.get("platform") if isinstance(machine, dict) else machine
    described = [part for part in (data.get("cpu") or data.get("device"), platform) if isinstance(part, str)]
    if described:
        threads = data.get("threads") or data.get("torch_threads")
        cores = [f"{data['cpu_count']} cores"] if data.get("cpu_count") else []
        threads = [f"torch threads: {threads}"] if isinstance(threads, int) else []
        found["machine"] = ", ".join([*described, *cores, *threads])
    return found


def describe_machine(machine: dict) -> str:
    gpu = f"GPU {machine['gpu']}, " if machine.get("gpu") else ""
    return (
        f"{gpu}{machine.get('cpu', '?')} ({machine.get('system', '?')}), {machine.get('cpu_count', '?')} cores, "
        f"torch threads: {machine.get('torch_threads', '?')}"
    )


NUMBERS_UNCHANGED = "(numbers unchanged)"
"""In the message of a commit that rewrote result files without changing a number: not the commit of the numbers."""


def last_commit(paths: list[Path]) -> tuple[str | None, str | None]:
    """The newest commit that changed any of `paths`, and its date (from `git log`)."""
    if git("rev-parse", "--is-shallow-repository") == "true":
        raise RuntimeError("benchmarks/report.py reads git history: run `git fetch --unshallow` first.")
    inside = [str(path) for path in paths if path.resolve().is_relative_to(ROOT)]  # outside: never committed
    skip_rewrites = ("--invert-grep", "--fixed-strings", f"--grep={NUMBERS_UNCHANGED}")
    out = git("log", "-1", *skip_rewrites, "--format=%h %ad", "--date=short", "--", *inside) if inside else ""
    return tuple(out.split()) if out else (None, None)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def expected_files() -> dict[Path, str]:
    return {RESULTS_DOC: render_results_doc(), README: render_readme(README.read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs from what would be written")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected_files().items():
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT).as_posix())
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python benchmarks/report.py", file=sys.stderr)
        return 1
    print(f"{'rewrote' if stale else 'up to date:'} {', '.join(stale) or 'docs/results.md, README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
