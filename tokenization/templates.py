"""The prompt text around the history titles (HatLLM's Table 1 by default), in the pieces the collator caches."""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class PromptTemplate:
    """The fixed text of a recommendation prompt; only the history titles change from one example to the next.

    A prompt reads `instruction + input_prefix + title_open + title_0 + title_close + separator + title_open + title_1
    + title_close + output_prefix`. `{items}`, `{item}` and `{verb}` in `instruction` and `input_prefix` are filled
    from the fields of the same names, so another domain takes three words:
    `PromptTemplate(items="products", item="product", verb="purchased")`. Literal braces are written `{{` and `}}`.
    Every piece except the titles themselves is prompt text (item index -1).
    """

    items: str = "movies"
    item: str = "movie"
    verb: str = "watched"
    instruction: str = (
        "Instruction: Given a list of {items} the user has {verb} before, please recommend a new {item} that the user "
        "likes to the user.\n"
    )
    input_prefix: str = "Input: The user has {verb} the following {items} before: "
    title_open: str = '"'
    title_close: str = '"'
    separator: str = ", "
    output_prefix: str = "\nOutput:"

    def __post_init__(self) -> None:
        for field in fields(self):
            if not isinstance(getattr(self, field.name), str):
                raise TypeError(f"PromptTemplate.{field.name} must be a string, got {getattr(self, field.name)!r}.")
        for name in ("instruction", "input_prefix"):
            try:
                self._fill(getattr(self, name))
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    f"PromptTemplate.{name} {getattr(self, name)!r} is not a valid template: only {{items}}, {{item}} "
                    f"and {{verb}} can be filled in (write literal braces as {{{{ and }}}}); {error!r}."
                ) from None

    def _fill(self, text: str) -> str:
        return text.format(items=self.items, item=self.item, verb=self.verb)

    @property
    def head(self) -> str:
        """Text before the first title."""
        return self._fill(self.instruction) + self._fill(self.input_prefix) + self.title_open

    @property
    def between(self) -> str:
        """Text between two consecutive titles."""
        return self.title_close + self.separator + self.title_open

    @property
    def tail(self) -> str:
        """Text after the last title."""
        return self.title_close + self.output_prefix

    @property
    def empty(self) -> str:
        """The whole prompt of an empty history (a user without interactions yet)."""
        return self._fill(self.instruction) + self._fill(self.input_prefix) + self.output_prefix

    def render(self, titles: list[str]) -> str:
        """The prompt as one string, for reading and debugging; the collator builds it from cached tokens."""
        if not titles:
            return self.empty
        return self.head + self.between.join(titles) + self.tail

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "PromptTemplate":
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown PromptTemplate fields {unknown}; the fields are {sorted(known)}.")
        return cls(**values)
