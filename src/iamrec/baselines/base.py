"""What a baseline is, and the one registry that `iamrec evaluate --baselines` and the study's grid both read.

A baseline is a class following the `Scorer` protocol (`evaluation.scorers`): `fit(train, validation)` learns from
the training split (a learned one may early-stop on validation), `score(examples)` (and `__call__`) returns a
`(batch, num_items)` score tensor, and `name` is what results record. Register it once, and both commands offer it:

```python
@register_baseline("my_baseline", label="My baseline")
class MyBaseline:
    @classmethod
    def from_settings(cls, settings: BaselineSettings) -> "MyBaseline":
        return cls(settings.num_items)
    def fit(self, train, validation=None) -> "MyBaseline": ...
    def score(self, examples) -> torch.Tensor: ...  # (len(examples), num_items)
    __call__ = score
```
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..evaluation.ranking import EvaluationPolicy
from ..evaluation.scorers import Scorer


@dataclass(frozen=True)
class BaselineSettings:
    """What building a baseline may read: the catalog size, the run's seed and device, the evaluation policy (for
    early stopping), and per-baseline `options` by name (e.g. `{"sasrec": {...SASRecConfig fields}, "sasrec_dir":
    ...}`)."""

    num_items: int
    seed: int = 0
    device: str = "cpu"
    policy: EvaluationPolicy = EvaluationPolicy()
    options: Mapping[str, Any] = field(default_factory=dict)
    show_progress: bool = True


@dataclass(frozen=True)
class RegisteredBaseline:
    name: str
    label: str  # the name tables show
    build: Callable[[BaselineSettings], Scorer]


BASELINES: dict[str, RegisteredBaseline] = {}
"""Every baseline by its registered name, in registration order."""


def register_baseline(name: str, label: str, **defaults: Any) -> Callable[[type], type]:
    """Class decorator: registers `cls.from_settings(settings, **defaults)` under `name` (register one class under
    several names with different `defaults`)."""

    def register(cls: type) -> type:
        if name in BASELINES:
            raise ValueError(f"A baseline named {name!r} is already registered ({BASELINES[name].build}).")
        BASELINES[name] = RegisteredBaseline(name, label, lambda settings: cls.from_settings(settings, **defaults))
        return cls

    return register


def build_baseline(name: str, settings: BaselineSettings, train, validation=None) -> Scorer:
    """The registered baseline `name`, built from `settings` and fitted on `train` (and `validation`)."""
    if name not in BASELINES:
        raise ValueError(f"Unknown baseline {name!r}; choose from {list(BASELINES)}.")
    return BASELINES[name].build(settings).fit(train, validation)
