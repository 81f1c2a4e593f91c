"""The scoring prompt: a template (``prompts/score_prompt_v2.yaml``) filled with a transcript,
the scorecard's criteria and the rule for the evidence the answer gives (a line number or a quote).

The template decides the layout. The default puts what is the same for every call (the role,
the instructions and the criteria) in the system message, so it stays in llama.cpp's prompt
cache from one call to the next, and only the transcript and a short reminder after it are new
per call. ``prompts/score_prompt.yaml``, the earlier layout with the transcript first, is kept
for comparison (``bench/speed.py``). The transcript is fenced between BEGIN/END TRANSCRIPT lines;
fence lines spoken on the call are neutralised so call content cannot close the fence and pose
as instructions.
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
from pipeline.resources import prompt_template_path, statement_template_path
from pipeline.scoring.extraction import fields_block
from pipeline.scoring.statement_prompt import StatementPrompt, statement_prompt
from pipeline.scoring.scorecard import Criterion, ExtractionField
from pipeline.speech.segments import SPEAKER_LABELS, Segment, timestamp
from pipeline.speech.turns import Turn

_FENCE = re.compile(r"(BEGIN|END)(\s+OF)?\s+TRANSCRIPT", re.IGNORECASE)


@dataclass(frozen=True)
class PromptTemplate:
    system: str
    user: str
    version: str  # content hash, 12 hex characters
    # evidence style ("lines", "quotes") -> the instruction that fills $evidence_rule
    evidence_rules: tuple[tuple[str, str], ...] = ()
    statements: StatementPrompt | None = None  # the statement style's prompts (llm_questions statements)

    def messages(self, transcript: str, criteria: Sequence[Criterion], *, part: tuple[int, int] | None = None,
                 evidence: str = "quotes", fields: Sequence[ExtractionField] = ()) -> list[dict[str, str]]:
        """Chat messages for one transcript (or one window of it: ``part`` = (n, of)) whose
        answer gives ``evidence`` ("lines" or "quotes"); ``fields``, the extraction fields asked
        too, are listed after the criteria."""
        part_text = f" (part {part[0]} of {part[1]})" if part and part[1] > 1 else ""
        listed = "\n".join(block for block in (criteria_block(criteria), fields_block(fields)) if block)
        values = {"transcript": transcript, "criteria": listed, "part": part_text,
                  "evidence_rule": dict(self.evidence_rules).get(evidence, "")}
        return [{"role": "system", "content": Template(self.system).safe_substitute(values)},
                {"role": "user", "content": Template(self.user).safe_substitute(values)}]


def load_prompt_template(path: Path | None = None, *, statements: bool = False) -> PromptTemplate:
    """The template at ``path`` (default: the shipped one for the style: ``statements``, the
    statement style's). A template holds the form style's ``system`` and ``user`` messages, the
    statement style's ``statements`` section, or both."""
    path = path or (statement_template_path() if statements else prompt_template_path())
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        rules = data.get("evidence_rules") or {}
        template = PromptTemplate(
            system=str(data.get("system", "")).strip(),
            user=str(data.get("user", "")).strip(),
            version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
            evidence_rules=tuple((str(k), " ".join(str(v).split())) for k, v in rules.items()),
            statements=statement_prompt(data["statements"]) if data.get("statements") else None,
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ScorecardError(f"prompt template {path} is unusable: {exc}") from exc
    missing = "statements" if statements and template.statements is None else (
        "system and user" if not statements and not (template.system and template.user) else None)
    if missing:
        raise ScorecardError(f"prompt template {path} has no {missing} section for the "
                             f"{'statement' if statements else 'form'} style (llm_questions)")
    return template


def criteria_block(criteria: Iterable[Criterion]) -> str:
    lines = []
    for criterion in criteria:
        note = ' (may not apply: answer "na" then)' if criterion.allow_na else ""
        lines.append(f"- {criterion.id}{note}: {criterion.question}")
    return "\n".join(lines)


def transcript_line(segment: Segment | Turn) -> str:
    text = _FENCE.sub(lambda m: m.group(0).lower(), segment.text)
    return f"[{timestamp(segment.start)}] {SPEAKER_LABELS[segment.speaker]}: {text}"


def numbered_line(number: int, segment: Segment | Turn) -> str:
    """A line of the numbered transcript the line-evidence style cites (one per speaker turn):
    ``L7 [01:12] AGENT: ...``."""
    return f"L{number} {transcript_line(segment)}"
