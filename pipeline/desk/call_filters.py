"""The calls page's filters, as they travel in its URL (so a filtered list can be shared): parsed
from the query string into a ``CallFilter``, turned into one parameterised query (every value a
parameter, never SQL), and back into a query string for the page's links."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

from pipeline.errors import SetupError
from pipeline.speech.language import UNCERTAIN_LANGUAGE_PROBABILITY

PER_PAGE = 50  # calls per page unless the URL says (at most MAX_PER_PAGE)
MAX_PER_PAGE = 200
MAX_TEXT_CHARS = 200  # of a text to search for, or a name to match
FLAGS = ("dual_mono", "silent_agent", "silent_customer", "mixed_language", "truncated", "language_suspect",
         "uncertain_language")
# What each sort orders by (a whitelist: the URL names one, never gives SQL).
SORTS = {"started_at": "started_at", "qa_score": "qa_score", "agent": "agent", "duration_s": "duration_s",
         "mean_confidence": "mean_confidence", "reviewed": "reviewed_answers"}
_FLAG_SQL = {
    "dual_mono": "channel_layout = 'dual_mono'", "silent_agent": "channel_layout = 'silent_agent'",
    "silent_customer": "channel_layout = 'silent_customer'", "mixed_language": "mixed_language",
    "truncated": "truncated", "language_suspect": "language_suspect",
    "uncertain_language": f"language_probability < {UNCERTAIN_LANGUAGE_PROBABILITY}",
}
# Every call the warehouse knows, with its current evaluation (if scored); {only} narrows it to
# a list of recording ids. The machine's QA score and critical failure; listed_calls adds the
# ones from the answers that count.
_CALLS = """
    SELECT r.recording_id, r.file_name, r.call_id, r.agent, r.team, r.started_at, r.duration_s, r.channel_layout,
           r.truncated, c.evaluation_id, c.scorecard_version, c.language, c.language_probability, c.mixed_language,
           c.language_suspect, c.mean_confidence, c.qa_score AS machine_qa_score,
           c.critical_failed AS machine_critical_failed
    FROM recordings AS r LEFT JOIN current_calls AS c USING (recording_id) {only}
"""


def listed_calls(recordings: str | None = None, *, reviews: bool = True) -> str:
    """A query of the calls the calls page lists, whose columns its filters and sorts name: each
    call's facts, its current evaluation, the QA score and critical failure from the answers
    that count, and how many of its answers people reviewed and overruled. ``recordings``: a SQL
    expression of a list of recording ids to list only those (the reviews read are only theirs);
    ``reviews=False``: without the reviews (the machine's scores; for filters that need none)."""
    calls = _CALLS.format(only=f"WHERE list_contains({recordings}, r.recording_id)" if recordings else "")
    if not reviews:
        return (f"SELECT k.*, machine_qa_score AS qa_score, machine_critical_failed AS critical_failed,"
                f" 0 AS reviewed_answers, 0 AS overruled_answers FROM ({calls}) AS k")
    wanted = recordings or "NULL"
    return f"""
    SELECT k.*, CASE WHEN f.evaluation_id IS NULL THEN k.machine_qa_score ELSE f.qa_score END AS qa_score,
           coalesce(f.critical_failed, k.machine_critical_failed) AS critical_failed,
           coalesce(v.reviewed_answers, 0) AS reviewed_answers, coalesce(v.overruled_answers, 0) AS overruled_answers
    FROM ({calls}) AS k
    LEFT JOIN reviewed_evaluation_figures_of({wanted}) AS f ON f.evaluation_id = k.evaluation_id
    LEFT JOIN (SELECT recording_id, scorecard_version, count(*) AS reviewed_answers,
                      count(*) FILTER (WHERE overruled) AS overruled_answers
               FROM reviewed_answers_of({wanted}) GROUP BY ALL) AS v
           ON v.recording_id = k.recording_id AND v.scorecard_version = k.scorecard_version
    """


_FAILED = """(evaluation_id IN (SELECT evaluation_id FROM scores WHERE criterion_id = ? AND passed = false
                                    AND evaluation_id NOT IN (SELECT evaluation_id FROM reviewed_verdicts
                                                              WHERE criterion_id = ? AND passed IS DISTINCT FROM false))
              OR evaluation_id IN (SELECT evaluation_id FROM reviewed_verdicts WHERE criterion_id = ? AND passed = false))"""


class FilterError(SetupError):
    """A filter value the calls page cannot take (said to the user, with the parameter's name)."""


@dataclass(frozen=True)
class CallFilter:
    """Which calls to list and how. Days are call days (UTC); scores 0-100; confidence 0-1."""

    day_from: date | None = None
    day_to: date | None = None
    agent: str | None = None
    team: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    failed: str | None = None  # a criterion id the answer that counts failed
    critical: bool = False  # only calls with a critical criterion failed
    flag: tuple[str, ...] = ()  # any of FLAGS
    language: str | None = None
    reviewed: bool | None = None  # True: some answer reviewed; False: none
    confidence_below: float | None = None  # some answer's confidence under this
    q: str | None = None  # text in the transcript, the file name or the call id
    sort: str = "started_at"
    desc: bool = True
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_query(cls, params: Mapping[str, Sequence[str]]) -> "CallFilter":
        """From a query string's values (name -> values); empty values are unset.
        ``FilterError`` names the first one that does not fit."""
        found: dict[str, Any] = {}
        for name, values in params.items():
            values = [v for v in values if v != ""]
            if not values or name not in _PARSERS:
                continue
            try:
                found[name] = _PARSERS[name](values)
            except (ValueError, TypeError) as exc:
                raise FilterError(f"filter {name}: {exc}") from None
        return cls(**found)

    def query_string(self, **changes: Any) -> str:
        """This filter (with ``changes``) as a query string, defaults left out."""
        shown = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(shown, f.name)
            if value == f.default:
                continue
            if isinstance(value, tuple):
                pairs += [(f.name, v) for v in value]
            elif isinstance(value, bool):
                pairs.append((f.name, "yes" if value else "no"))
            else:
                pairs.append((f.name, str(value)))
        return urlencode(pairs)

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE conditions over ``listed_calls``' columns (``TRUE`` for none) and their parameters."""
        conditions: list[str] = []
        params: list[Any] = []

        def add(sql: str, *values: Any) -> None:
            conditions.append(sql)
            params.extend(values)

        if self.day_from is not None:
            add("CAST(started_at AS DATE) >= ?", self.day_from)
        if self.day_to is not None:
            add("CAST(started_at AS DATE) <= ?", self.day_to)
        for column in ("agent", "team", "language"):
            if getattr(self, column) is not None:
                add(f"{column} = ?", getattr(self, column))
        if self.score_min is not None:
            add("qa_score >= ?", self.score_min)
        if self.score_max is not None:
            add("qa_score <= ?", self.score_max)
        if self.failed is not None:
            add(_FAILED, self.failed, self.failed, self.failed)
        if self.critical:
            add("critical_failed")
        if self.flag:
            add("(" + " OR ".join(f"coalesce({_FLAG_SQL[f]}, false)" for f in self.flag) + ")")
        if self.reviewed is not None:
            add("reviewed_answers > 0" if self.reviewed else "reviewed_answers = 0")
        if self.confidence_below is not None:
            add("evaluation_id IN (SELECT evaluation_id FROM scores WHERE confidence < ?)", self.confidence_below)
        if self.q is not None:
            text = self.q.lower()
            add("(contains(lower(file_name), ?) OR contains(lower(coalesce(call_id, '')), ?)"
                " OR recording_id IN (SELECT recording_id FROM segments WHERE contains(lower(text), ?)))",
                text, text, text)
        return " AND ".join(conditions) or "TRUE", params

    @property
    def needs_reviews(self) -> bool:
        """Whether choosing or ordering the calls needs the answers that count (not only the machine's)."""
        return (self.score_min is not None or self.score_max is not None or self.critical or self.reviewed is not None
                or self.sort in ("qa_score", "reviewed"))

    def order_by(self) -> str:
        direction = "DESC" if self.desc else "ASC"
        return f"{SORTS[self.sort]} {direction} NULLS LAST, recording_id {direction}"


def _one(parse):  # a parser of a parameter given once
    def parser(values: list[str]) -> Any:
        if len(values) > 1:
            raise ValueError("give it once")
        return parse(values[0])
    return parser


def _text(value: str) -> str:
    if len(value) > MAX_TEXT_CHARS or not value.isprintable():
        raise ValueError(f"at most {MAX_TEXT_CHARS} printable characters")
    return value


def _number(low: float, high: float):
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:
            raise ValueError(f"a number from {low:g} to {high:g}")
        return number
    return parse


def _yes_no(value: str) -> bool:
    if value.lower() in ("yes", "1", "true", "on"):
        return True
    if value.lower() in ("no", "0", "false", "off"):
        return False
    raise ValueError("yes or no")


def _choice(options):
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"one of {', '.join(options)}")
        return value
    return parse


def _whole(low: int, high: int):
    def parse(value: str) -> int:
        number = int(value) if value.isdigit() else -1
        if not low <= number <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return number
    return parse


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("a day as YYYY-MM-DD") from None


def _flags(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_choice(FLAGS)(v) for v in values))


_PARSERS = {
    "day_from": _one(_day), "day_to": _one(_day),
    "agent": _one(_text), "team": _one(_text), "failed": _one(_text), "language": _one(_text), "q": _one(_text),
    "score_min": _one(_number(0, 100)), "score_max": _one(_number(0, 100)),
    "confidence_below": _one(_number(0, 1)), "critical": _one(_yes_no), "reviewed": _one(_yes_no),
    "flag": _flags, "sort": _one(_choice(tuple(SORTS))), "desc": _one(_yes_no),
    "page": _one(_whole(1, 1_000_000)), "per_page": _one(_whole(1, MAX_PER_PAGE)),
}
