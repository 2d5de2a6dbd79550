"""The baselines, in one place: each a class following the `Scorer` protocol (`fit`, `score`, `name`), registered once
in `BASELINES` (`base.register_baseline`), which `iamrec evaluate --baselines` and the study's grid both read.

`MostPopular` and `PopularityFallback` (`popularity`), `Random` (`random_scores`) and `SASRec` (`sasrec`). To add
one: write its class in a module here, decorate it with `@register_baseline(name, label=...)`, and import the module
below.
"""

from .base import BASELINES, BaselineSettings, RegisteredBaseline, Scorer, build_baseline, register_baseline
from .popularity import POPULARITY_COUNTS, MostPopular, PopularityFallback
from .random_scores import Random
from .sasrec import SASRec, SASRecConfig

__all__ = [
    "BASELINES",
    "POPULARITY_COUNTS",
    "BaselineSettings",
    "MostPopular",
    "PopularityFallback",
    "Random",
    "RegisteredBaseline",
    "SASRec",
    "SASRecConfig",
    "Scorer",
    "build_baseline",
    "register_baseline",
]
