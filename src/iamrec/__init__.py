"""iamrec: item-aware attention for Llama-family sequential recommenders, as a transformers plugin.

The public API is this package's top level (`__all__`, one example each in docs/api.md); everything below it is
internal. Names are imported on first use (PEP 562, as transformers' `_LazyModule` does), so `iamrec prepare` and
`prepare_dataset` never load torch; using any other name also registers IAMRec with the Auto classes.
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {  # name -> "module" or "module:attribute" (relative to this package)
    # the model, the files that ship to the Hub
    "IAMRecConfig": ".configuration_iamrec",
    "full_schedule": ".configuration_iamrec",
    "hatllm_schedule": ".configuration_iamrec",
    "iam_schedule": ".configuration_iamrec",
    "make_schedule": ".configuration_iamrec",
    "IAMRecForSequentialRecommendation": ".modeling_iamrec",
    "IAMRecOutput": ".modeling_iamrec",
    "IAMRecCollator": ".tokenization",
    "IAMRecProcessor": ".tokenization",
    "PromptTemplate": ".tokenization",
    # data (torch-free)
    "prepare_dataset": ".data",
    "load_prepared": ".data",
    # training
    "IAMRecArguments": ".training",
    "RecTrainingArguments": ".training",
    "train": ".training",
    "DEMO_BUDGETS": ".training",
    "demo_arguments": ".demo",
    # inference
    "Recommender": ".inference",
    # evaluation and baselines
    "evaluate": ".comparison:evaluate_all",
    "evaluate_scorer": ".evaluation",
    "EvaluationPolicy": ".evaluation",
    "ranking_metric": ".evaluation",
    "MostPopular": ".baselines",
    "Random": ".baselines",
    "SASRec": ".baselines",
    "SASRecConfig": ".baselines",
    # the quality study and attention analysis
    "run_study": ".study",
    "first_example_per_user": ".analysis.attention",
    "measure_attention": ".analysis.attention",
    "plot_attention_shares": ".analysis.plot",
}
_TORCH_FREE = {".data"}

__all__ = [
    "DEMO_BUDGETS",
    "EvaluationPolicy",
    "IAMRecArguments",
    "IAMRecCollator",
    "IAMRecConfig",
    "IAMRecForSequentialRecommendation",
    "IAMRecOutput",
    "IAMRecProcessor",
    "MostPopular",
    "PromptTemplate",
    "Random",
    "RecTrainingArguments",
    "Recommender",
    "SASRec",
    "SASRecConfig",
    "demo_arguments",
    "evaluate",
    "evaluate_scorer",
    "first_example_per_user",
    "full_schedule",
    "hatllm_schedule",
    "iam_schedule",
    "load_prepared",
    "make_schedule",
    "measure_attention",
    "plot_attention_shares",
    "prepare_dataset",
    "ranking_metric",
    "run_study",
    "train",
]

if TYPE_CHECKING:
    from .analysis.attention import first_example_per_user, measure_attention
    from .analysis.plot import plot_attention_shares
    from .baselines import MostPopular, Random, SASRec, SASRecConfig
    from .comparison import evaluate_all as evaluate
    from .configuration_iamrec import IAMRecConfig, full_schedule, hatllm_schedule, iam_schedule, make_schedule
    from .data import load_prepared, prepare_dataset
    from .demo import demo_arguments
    from .evaluation import EvaluationPolicy, evaluate_scorer, ranking_metric
    from .inference import Recommender
    from .modeling_iamrec import IAMRecForSequentialRecommendation, IAMRecOutput
    from .study import run_study
    from .tokenization import IAMRecCollator, IAMRecProcessor, PromptTemplate
    from .training import DEMO_BUDGETS, IAMRecArguments, RecTrainingArguments, train


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'iamrec' has no attribute {name!r}")
    module, _, attribute = _EXPORTS[name].partition(":")
    if module not in _TORCH_FREE:
        importlib.import_module(".auto_classes", __name__)
    return getattr(importlib.import_module(module, __name__), attribute or name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
