"""The scoring prompt: the template in ``prompts/score_prompt.yaml`` filled with a transcript and
the scorecard's criteria.

The transcript comes first, fenced between BEGIN/END TRANSCRIPT lines; fence lines spoken on the
call are neutralised so call content cannot close the fence and pose as instructions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Iterable, Sequence

import yaml

from pipeline.errors import ScorecardError
from pipeline.resources import prompt_template_path
from pipeline.scoring.scorecard import Criterion
from pipeline.speech.segments import SPEAKER_LABELS, Segment, timestamp

_FENCE = re.compile(r"(BEGIN|END)\s+TRANSCRIPT", re.IGNORECASE)


@dataclass(frozen=True)
class PromptTemplate:
    system: str
    user: str
    version: str  # content hash, 12 hex characters

    def messages(self, transcript: str, criteria: Sequence[Criterion], *, part: tuple[int, int] | None = None) -> list[dict[str, str]]:
        """Chat messages for one transcript (or one window of it: ``part`` = (n, of))."""
        part_text = f" (part {part[0]} of {part[1]})" if part and part[1] > 1 else ""
        user = Template(self.user).safe_substitute(
            transcript=transcript, criteria=criteria_block(criteria), part=part_text
        )
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def load_prompt_template(path: Path | None = None) -> PromptTemplate:
    path = path or prompt_template_path()
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        return PromptTemplate(
            system=data["system"].strip(),
            user=data["user"].strip(),
            version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ScorecardError(f"prompt template {path} is unusable: {exc}") from exc


def criteria_block(criteria: Iterable[Criterion]) -> str:
    lines = []
    for criterion in criteria:
        note = ' (may not apply: answer "na" then)' if criterion.allow_na else ""
        lines.append(f"- {criterion.id}{note}: {criterion.question}")
    return "\n".join(lines)


def transcript_line(segment: Segment) -> str:
    text = _FENCE.sub(lambda m: f"{m.group(1).lower()} transcript", segment.text)
    return f"[{timestamp(segment.start)}] {SPEAKER_LABELS[segment.speaker]}: {text}"
