"""iamrec: item-aware attention for Llama-family sequential recommenders, as a transformers plugin.

Names are imported on first use (PEP 562, as transformers' `_LazyModule` does), so `iamrec prepare` and the data
package never load torch; using any model-side name also registers IAMRec with the Auto classes.
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
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
    "ranking_metric": ".evaluation",
}
__all__ = [
    "IAMRecCollator",
    "IAMRecConfig",
    "IAMRecForSequentialRecommendation",
    "IAMRecOutput",
    "IAMRecProcessor",
    "PromptTemplate",
    "full_schedule",
    "hatllm_schedule",
    "iam_schedule",
    "make_schedule",
    "ranking_metric",
]

if TYPE_CHECKING:
    from .configuration_iamrec import IAMRecConfig, full_schedule, hatllm_schedule, iam_schedule, make_schedule
    from .evaluation import ranking_metric
    from .modeling_iamrec import IAMRecForSequentialRecommendation, IAMRecOutput
    from .tokenization import IAMRecCollator, IAMRecProcessor, PromptTemplate


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'iamrec' has no attribute {name!r}")
    importlib.import_module(".auto_classes", __name__)
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
