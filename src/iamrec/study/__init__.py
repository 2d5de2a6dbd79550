"""The quality study: a grid of named configurations x seeds, each run trained, evaluated, recorded and summarised.

One run is (configuration, seed). It trains (an LLM configuration through `training.train` with the configuration's
per-layer `item_mask_modes`; a baseline registered in `iamrec.baselines` through its `fit`), ranks the validation and
test examples with the same metric code and the default `EvaluationPolicy()`, and writes
`results/<configuration>/seed-<seed>.json` atomically as soon as it ends. A rerun skips every run whose result file is
complete, so a killed or time-boxed study continues where it stopped. `summarize` turns the finished runs into
`summary.json` and `summary.md`: mean and standard deviation over seeds, and a paired bootstrap of every configuration
against a reference (`REFERENCES`: `full` on test; `random` on `test_cold`) on per-example NDCG@10, with the difference
seed by seed and a paired t-test over seeds.

Configurations (`CONFIGURATIONS`): every registered schedule (`configuration_iamrec.SCHEDULES`, with the modes
`table5_modes` gives): `full` (plain causal attention in every layer: BIGRec with an embedding head, the reference),
`hatllm`, `iam` and HatLLM's Table-5 ablations; `hatllm_text` (hatllm with the title head), and the baselines
`most_popular`, `most_popular_histories` (history mentions counted too: a popularity for cold items), `random` and
`sasrec`. Grids (`GRIDS`): `main`, `ablations`, `cold_start` (for data prepared with `--cold_items_fraction`: results
then hold `test_cold` beside `test`), `item_ids` (`hatllm` with item vectors beside the titles,
`ITEM_ID_CONFIGURATIONS`) and `depth` (`hatllm` with one block's size changed, `BLOCK_CONFIGURATIONS`). Budgets
(`STUDY_BUDGETS`, from `training.budgets`): `cpu`, `demo`, `converge`, `gpu` and `tiny`.

Modules: `grid` (configurations and grids; the budgets live in `training.budgets`), `runs` (one run, the study loop),
`results` (the result files), `summary` (the tables and the paired test).
"""

from ..training.budgets import STUDY_BUDGETS
from .grid import (
    BLOCK_CONFIGURATIONS,
    GRIDS,
    ITEM_ID_CONFIGURATIONS,
    LLM_CONFIGURATIONS,
    REFERENCES,
    TABLE5_VARIANTS,
    head_arguments,
    llm_arguments,
    model_arguments,
    resolve_grid,
    table5_modes,
)
from .results import read_result, result_path
from .runs import RunSpec, rank_split, run_one, run_study
from .summary import SUMMARY_METRICS, paired_bootstrap, paired_t_test, summarize

__all__ = [
    "BLOCK_CONFIGURATIONS",
    "GRIDS",
    "ITEM_ID_CONFIGURATIONS",
    "LLM_CONFIGURATIONS",
    "REFERENCES",
    "STUDY_BUDGETS",
    "SUMMARY_METRICS",
    "TABLE5_VARIANTS",
    "RunSpec",
    "head_arguments",
    "llm_arguments",
    "model_arguments",
    "paired_bootstrap",
    "paired_t_test",
    "rank_split",
    "read_result",
    "resolve_grid",
    "result_path",
    "run_one",
    "run_study",
    "summarize",
    "table5_modes",
]
