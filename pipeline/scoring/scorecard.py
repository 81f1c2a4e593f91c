"""Scorecards: the yes/no business criteria a call is scored against, loaded from YAML.

Beside its criteria, a scorecard may list extraction ``fields`` (``ExtractionField``): facts
about the call the LLM fills in the same pass (``kind: choice``, one of a list of options, with
an evidence line; ``kind: text``, a short free answer with a hard word limit). They are stored
apart from the verdicts and never count in the QA score.

A criterion is judged by the LLM (``kind: llm``, the default) or by a rule checked in plain code
(``kind: rule``, implied by a ``rule:``; see ``pipeline.scoring.rules``). Either kind may carry
``only_if``, a rule that must hold for the criterion to apply.

The version of a scorecard is a hash of its normalised content (defaults filled in, comments
and formatting ignored, rules included), so editing a question or a rule yields a new version
and re-indenting does not.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from pipeline.config import check_terms
from pipeline.errors import ScorecardError
from pipeline.scoring.rules import Condition

VERSION_LENGTH = 12  # hex characters of the SHA-256 kept as the version
# What a scorecard may be, checked before it is validated: bytes of YAML, values once aliases
# are expanded (a "billion laughs" document is a few lines), and levels of nesting.
MAX_SCORECARD_BYTES = 256 * 1024
MAX_SCORECARD_VALUES = 20_000
MAX_SCORECARD_DEPTH = 24


class Criterion(BaseModel):
    """One yes/no question about a call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    question: str = Field(min_length=5, max_length=500)
    weight: float = Field(1.0, gt=0, le=100)
    critical: bool = False
    allow_na: bool = False
    combine: Literal["any", "all"] = Field(
        "any",
        description=(
            "How the verdicts of the windows of a transcript too long for the model combine: "
            "'any' passes when any window passes (something that must happen at least once); "
            "'all' passes only when every window passes (something that must never happen)."
        ),
    )
    kind: Literal["llm", "rule"] = Field(
        "llm", description="Who judges it: the LLM, or ``rule`` in plain code; ``rule`` when a rule is given."
    )
    rule: Condition | None = Field(None, validate_default=True)
    only_if: Condition | None = Field(
        None,
        description=(
            "A pre-check: when it does not hold, the criterion is not applicable for the call "
            "(passed NULL) and the LLM is not asked about it."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _kind_from_rule(cls, data: object) -> object:
        if isinstance(data, dict) and "kind" not in data and data.get("rule") is not None:
            return {**data, "kind": "rule"}
        return data

    @field_validator("rule")
    @classmethod
    def _rule_fits_kind(cls, rule: Condition | None, info: ValidationInfo) -> Condition | None:
        kind = info.data.get("kind")
        if rule is not None and kind == "llm":
            raise ValueError("a rule is given, but kind is 'llm' (leave kind out, or say kind: rule)")
        if rule is None and kind == "rule":
            raise ValueError("kind is 'rule', but no rule is given")
        return rule

    @field_validator("question")
    @classmethod
    def _single_line(cls, value: str) -> str:
        words = " ".join(value.split())
        if len(words) < 5:
            raise ValueError("must be a question of at least 5 characters besides spaces")
        return words


class ExtractionField(BaseModel):
    """One fact the LLM extracts from a call: an option of ``options`` (``choice``), or a short
    text of at most ``max_words`` words (``text``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    question: str = Field(min_length=5, max_length=500)
    kind: Literal["choice", "text"]
    options: tuple[str, ...] | None = Field(None, min_length=2, max_length=20)
    max_words: int | None = Field(None, ge=1, le=200)

    @field_validator("options")
    @classmethod
    def _plain_options(cls, options: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if options is None:
            return None
        for option in options:
            if not re.fullmatch(r"[a-z0-9_]{1,40}", option):
                raise ValueError(f"option {shown(option)} is not [a-z0-9_]+ (at most 40 characters)")
        if len(set(options)) != len(options):
            raise ValueError("an option is listed more than once")
        return options

    @model_validator(mode="after")
    def _fits_kind(self) -> "ExtractionField":
        if self.kind == "choice" and (self.options is None or self.max_words is not None):
            raise ValueError("a choice field lists its options (and has no max_words)")
        if self.kind == "text" and (self.max_words is None or self.options is not None):
            raise ValueError("a text field gives max_words (and has no options)")
        return self

    _single_line = field_validator("question")(Criterion._single_line.__func__)  # type: ignore[attr-defined]


class Scorecard(BaseModel):
    """A named list of criteria with unique ids, and the fields extracted beside them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    criteria: tuple[Criterion, ...] = Field(min_length=1, max_length=50)
    # Names and terms its calls say (company, products), given to Whisper as hotwords with the
    # ``vocabulary`` setting's; None (not []) when unset, so older scorecards keep their version.
    vocabulary: tuple[str, ...] | None = Field(None, max_length=200)
    # What the LLM extracts beside the verdicts; None (not []) when unset, for the same reason.
    fields: tuple[ExtractionField, ...] | None = Field(None, max_length=20)
    # Also publish qa_score_reliable, the QA score over the criteria marked reliable only. How
    # the scores are published, not what is asked: it leaves the version as it is.
    score_only_reliable: bool = False

    @field_validator("vocabulary")
    @classmethod
    def _plain_terms(cls, terms: tuple[str, ...] | None) -> tuple[str, ...] | None:
        check_terms(terms or ())
        return terms

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, criteria: tuple[Criterion, ...]) -> tuple[Criterion, ...]:
        seen: set[str] = set()
        for criterion in criteria:
            if criterion.id in seen:
                raise ValueError(f"criterion id {criterion.id!r} is used more than once")
            seen.add(criterion.id)
        return criteria

    @model_validator(mode="after")
    def _fields_apart_from_criteria(self) -> "Scorecard":
        ids = [c.id for c in self.criteria] + [f.id for f in self.fields or ()]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"id {repeated[0]!r} is used more than once among the criteria and fields")
        return self

    @cached_property
    def version(self) -> str:
        """Content hash of the normalised scorecard (12 hex characters). Unset rule fields and
        the default kind are left out, so a scorecard without rules keeps the version it had
        before rules existed; so is ``score_only_reliable``, which changes no answer."""
        data = self.model_dump(mode="json", exclude_none=True, exclude={"score_only_reliable"})
        for criterion in data["criteria"]:
            if criterion.get("kind") == "llm":
                del criterion["kind"]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:VERSION_LENGTH]

    @property
    def llm_criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == "llm")

    @property
    def extraction_fields(self) -> tuple[ExtractionField, ...]:
        """The fields, choice fields first (the order the answer gives them in)."""
        fields = self.fields or ()
        return tuple(f for f in fields if f.kind == "choice") + tuple(f for f in fields if f.kind == "text")

    @property
    def choice_options(self) -> dict[str, tuple[str, ...]]:
        """choice field id -> its options (what a label for the field may be)."""
        return {f.id: f.options or () for f in self.extraction_fields if f.kind == "choice"}

    @property
    def kinds(self) -> dict[str, str]:
        """criterion id -> 'llm' or 'rule'."""
        return {c.id: c.kind for c in self.criteria}

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)


def _describe(error: dict, data: object) -> str:
    """'criteria[2] (greeted).weight: Input should be greater than 0'."""
    parts: list[str] = []
    node = data
    for key in error["loc"]:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node) and isinstance(node[key], dict):
                if "id" in node[key]:
                    label += f" ({shown(node[key]['id'], quoted=False)})"
            parts.append(label)
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    hint = YAML_BOOLEAN_HINT if isinstance(error.get("input"), bool) else ""
    return f"{''.join(parts) or 'scorecard'}: {error['msg']}{hint}"


YAML_BOOLEAN_HINT = " (YAML reads yes, no, on, off, true and false unquoted as booleans: quote it, as 'yes')"
SHOWN_CHARS = 40  # of a value echoed in an error


def shown(value: object, *, quoted: bool = True) -> str:
    """``value`` as an error message shows it: one line (control characters escaped), at most
    ``SHOWN_CHARS`` characters of it."""
    text = str(value)
    cut = text[:SHOWN_CHARS] + ("..." if len(text) > SHOWN_CHARS else "")
    return repr(cut) if quoted else repr(cut)[1:-1]


def _bounded_yaml(text: str, source: str) -> object:
    """``yaml.safe_load`` of a document within the scorecard's bounds (``ScorecardError`` when not)."""
    if len(text.encode("utf-8")) > MAX_SCORECARD_BYTES:
        raise ScorecardError(f"{source} is over {MAX_SCORECARD_BYTES // 1024} KiB: not a scorecard")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_shape(node, source)
        return loader.construct_document(node)
    except RecursionError as exc:
        raise ScorecardError(f"{source} is nested more than {MAX_SCORECARD_DEPTH} levels deep") from exc
    except yaml.YAMLError as exc:
        raise ScorecardError(f"{source} is not valid YAML: {exc}".replace("\n", " ")) from exc
    finally:
        loader.dispose()


def _check_shape(root: yaml.Node, source: str) -> None:
    """Count the document's values as they would be built (an alias once per use) and its depth."""
    pending, values = [(root, 1)], 0
    while pending:
        node, depth = pending.pop()
        values += 1
        if values > MAX_SCORECARD_VALUES:
            raise ScorecardError(f"{source} holds more than {MAX_SCORECARD_VALUES} values (aliases counted at each use)")
        if depth > MAX_SCORECARD_DEPTH:
            raise ScorecardError(f"{source} is nested more than {MAX_SCORECARD_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode):
            pending.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((child, depth + 1) for child in node.value)


def parse_scorecard(text: str, *, source: str = "scorecard") -> Scorecard:
    """Validate YAML text as a scorecard; errors name the criterion and the field."""
    data = _bounded_yaml(text, source)
    if not isinstance(data, dict):
        raise ScorecardError(f"{source}: expected a mapping with 'name' and 'criteria'")
    try:
        return Scorecard.model_validate(data)
    except ValidationError as exc:
        raise ScorecardError(f"{source}: {_describe(exc.errors()[0], data)}") from exc


def load_scorecard(path: Path) -> Scorecard:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScorecardError(f"cannot read scorecard {path}: {exc.strerror or exc}") from exc
    return parse_scorecard(text, source=str(path))
