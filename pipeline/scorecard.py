"""Scorecards: the yes/no business criteria a call is scored against, loaded from YAML.

The version of a scorecard is a hash of its normalised content (defaults filled in, comments
and formatting ignored), so editing a question yields a new version and re-indenting does not.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ScorecardError

VERSION_LENGTH = 12  # hex characters of the SHA-256 kept as the version


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

    @field_validator("question")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return " ".join(value.split())


class Scorecard(BaseModel):
    """A named list of criteria with unique ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    criteria: tuple[Criterion, ...] = Field(min_length=1, max_length=50)

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, criteria: tuple[Criterion, ...]) -> tuple[Criterion, ...]:
        seen: set[str] = set()
        for criterion in criteria:
            if criterion.id in seen:
                raise ValueError(f"criterion id {criterion.id!r} is used more than once")
            seen.add(criterion.id)
        return criteria

    @cached_property
    def version(self) -> str:
        """Content hash of the normalised scorecard (12 hex characters)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:VERSION_LENGTH]

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
                    label += f" ({node[key]['id']})"
            parts.append(label)
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return f"{''.join(parts) or 'scorecard'}: {error['msg']}"


def parse_scorecard(text: str, *, source: str = "scorecard") -> Scorecard:
    """Validate YAML text as a scorecard; errors name the criterion and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScorecardError(f"{source} is not valid YAML: {exc}".replace("\n", " ")) from exc
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
