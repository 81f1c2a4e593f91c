"""Settings, resolved in this order: command-line flag, ``CALLSCORE_*`` environment variable,
``callscore.toml`` (in the working directory, or the file ``CALLSCORE_CONFIG`` names), default.

Every setting has the same name in all three places: ``--llm-model``, ``CALLSCORE_LLM_MODEL``,
``llm_model = "..."`` in ``callscore.toml``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from pipeline.errors import SetupError
from pipeline.resources import default_scorecard_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "CALLSCORE_"
REVIEW_SAMPLE_SHARE = 0.2  # default share of the review queue's calls drawn at random (setting review_sample_share)
LOCK_WAIT_S = 30.0  # default seconds a reading command waits for the warehouse (setting lock_wait_s)
WRITE_WAIT_S = 3600.0  # default seconds a run waits to store a call (setting write_wait_s)
CONFIG_FILE_NAME = "callscore.toml"


class Settings(BaseModel):
    """Everything a scoring run can be told. ``None`` for a model means the embedded default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db: Path = Field(Path("warehouse/callscore.duckdb"), description="The DuckDB warehouse file (created, with its folder, on first use).")
    scorecard: Path = Field(default_factory=default_scorecard_path, description="Scorecard YAML the calls are scored against (docs/scorecards.md).")
    whisper_model: str | None = Field(
        None, description="faster-whisper model name or preset (tiny.en, large-v3, ...) or CTranslate2 directory."
    )
    llm_model: Path | None = Field(
        None, description="GGUF model file (a chat or a base model), or an LLM preset name (callscore models)."
    )
    models_dir: Path = Field(
        Path("models"), description="Folder of the GGUF files `callscore models pull` downloads and"
        " LLM preset names resolve to (relative paths: to the working directory)."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where models run; auto: CUDA when a GPU is visible (Whisper in float16), else the CPU"
        " (int8), saying which on stderr."
    )
    agent_channel: Literal["left", "right"] = Field(
        "left", description="Stereo channel that carries the agent (a sidecar's agent_channel wins for its call)."
    )
    agent_channel_by_folder: dict[str, Literal["left", "right"]] = Field(
        default_factory=dict,
        description="Agent channel of the recordings under a folder, e.g. {\"inbox/queue-b\" = \"right\"}"
        " (the nearest folder wins; a sidecar's agent_channel wins over it). Flag and environment:"
        " 'inbox/queue-b=right,inbox/old=left'.",
    )
    language: str | None = Field(
        None, description="Spoken language code (en, ru, cs, ...); unset: detected once per call."
        " A sidecar's language wins for its call."
    )
    languages: tuple[str, ...] = Field(
        (), description="The languages the calls may be in (codes, comma-separated, e.g. en,ru): a call's"
        " language is detected among these only. Unset: any language Whisper knows."
    )
    vocabulary: tuple[str, ...] = Field(
        (), description="Names and terms the calls say (company, products), comma-separated, given to"
        " Whisper as hotwords (with the scorecard's vocabulary)."
    )
    vocabulary_as: Literal["hotwords", "initial_prompt"] = Field(
        "hotwords", description="How Whisper is given the vocabulary: hotwords (in every 30 s window) or"
        " initial_prompt (the first window only, fewer other words lost)."
    )
    beam_size: int = Field(1, ge=1, le=10, description="Whisper beam width (1 = greedy; 3: 2.3 points fewer word"
                           " errors on the sample calls for 1.12x the time, docs/benchmarks.md).")
    llm_context: int = Field(4096, ge=512, le=262_144, description="LLM context window, tokens (512 to 262144).")
    whisper_workers: int | None = Field(
        None, ge=1, le=16, description="Channels Whisper transcribes at once on the CPU, each by a worker of its"
        " own; None: two when there are two cores or more (small models gain more from workers than threads)."
    )
    whisper_threads: int | None = Field(
        None, ge=1, description="CPU threads per Whisper worker; None: the cores shared among the workers."
    )
    vad_min_silence_ms: int = Field(
        2000, ge=100, le=10_000, description="Silence (ms) that ends a stretch of speech Whisper is given"
        " (faster-whisper's default: 2000)."
    )
    vad_speech_pad_ms: int = Field(
        400, ge=0, le=2000, description="Audio (ms) kept either side of each stretch of speech (faster-whisper's default: 400)."
    )
    llm_threads: int | None = Field(
        None, ge=1, description="CPU threads for the LLM's one-token steps; None: every core but one (llama.cpp's threads"
        " spin: on a busy machine fewer threads are faster)."
    )
    llm_batch_threads: int | None = Field(
        None, ge=1, description="CPU threads for the LLM's prompt evaluation (many tokens at once); None: as llm_threads."
    )
    llm_gpu_layers: int = Field(
        -1, description="Layers offloaded to the GPU when device is cuda (-1 = all)."
    )
    llm_backend: Literal["llama", "openai"] = Field(
        "llama", description="llama: the GGUF model in this process; openai: a shared OpenAI-compatible server."
    )
    llm_url: str | None = Field(
        None, validate_default=True,
        description="Base URL of the OpenAI-compatible LLM server (llm_backend openai), e.g. http://gpu-1:8000/v1.",
    )
    llm_server_model: str | None = Field(
        None, description="Model name the LLM server knows; None uses the first it lists."
    )
    llm_timeout_s: float = Field(
        180.0, gt=0, le=3600,
        description="Seconds one request to the LLM server may take in all (queueing, answer); then it fails, transient.",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="Bearer token for the LLM server (best set as CALLSCORE_LLM_API_KEY)."
    )
    llm_questions: Literal["auto", "together", "per_criterion", "statements"] = Field(
        "auto", description="Ask all criteria in one answer (together), one question per criterion, or each"
        " criterion as a statement after the transcript, read from the model's calibrated probabilities"
        " (statements); auto: statements for a base model (completion prompts), together for a chat model."
    )
    llm_calibration: Literal["contextual", "none"] = Field(
        "contextual", description="llm_questions statements: divide the model's probabilities by its lean on"
        " transcripts without content (contextual), or take them as read (none)."
    )
    llm_prompt: Path | None = Field(
        None, description="Prompt template file (YAML, like prompts/score_prompt_v2.yaml or"
        " prompts/statement_prompt.yaml); unset: the shipped one for llm_questions."
    )
    llm_prompt_kind: Literal["auto", "chat", "completion"] = Field(
        "auto", description="How prompts are put to the LLM: chat (its chat template), completion (plain text a"
        " base model continues), or auto: chat when the GGUF has a chat template."
    )
    llm_answer_order: Literal["evidence_first", "verdict_first"] = Field(
        "evidence_first", description="Give the evidence before the verdict, or after it."
    )
    llm_evidence: Literal["lines", "quotes"] = Field(
        "lines", description="Evidence as the number of a transcript line (its text and time are stored),"
        " or as a quote the model copies (kept only if found in the transcript)."
    )
    llm_concurrency: int = Field(
        4, ge=1, le=64,
        description="Calls scored at once against an LLM server (llm_backend openai); the model in this"
        " process always scores one at a time.",
    )
    overlap_stages: bool = Field(
        False, description="With the LLM in this process: transcribe the next call while the LLM scores this"
        " one (two calls in flight, each stage one call at a time; calls may be stored out of their order)."
        " Off: one call after the other."
    )
    audio_base_url: str | None = Field(
        None, description="A web server that serves the recordings: call pages play each from URL/<its path under"
        " audio_root> instead of the file where it was scored.",
    )
    audio_root: Path | None = Field(
        None, description="The folder audio_base_url serves; a recording outside it goes by its file name alone.",
    )
    lock_wait_s: float = Field(
        LOCK_WAIT_S, ge=0, le=86_400, description="Seconds a command that reads the warehouse (sql, show, report, export,"
        " eval) waits while a scoring run writes it; then it gives up with exit 2.",
    )
    review_sample_share: float = Field(
        REVIEW_SAMPLE_SHARE, ge=0, le=1, description="Share (0-1) of the calls the review desk's queue gives that are"
        " drawn at random, on which agreement is an honest estimate; the others are the most doubtful answers.",
    )
    write_wait_s: float = Field(
        WRITE_WAIT_S, ge=0, le=86_400, description="Seconds a scoring run waits to store a call while another process"
        " reads the warehouse (a long export); then the run stops with exit 2, what was stored kept.",
    )
    redact: tuple[Literal["card", "email", "phone", "number"], ...] = Field(
        ("card", "email", "phone", "number"),
        description="Kinds of personal data masked before transcripts are stored or sent to the LLM;"
        " 'none' turns redaction off.",
    )

    @field_validator("llm_url")
    @classmethod
    def _url_for_the_server_backend(cls, value: str | None, info: ValidationInfo) -> str | None:
        """llm_backend openai needs an http(s) URL; a trailing slash is dropped."""
        if value is None:
            if info.data.get("llm_backend") == "openai":
                raise ValueError(
                    "llm_backend is openai but llm_url is not set: give the server's OpenAI base URL,"
                    " e.g. --llm-url http://gpu-1:8000/v1"
                )
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. http://gpu-1:8000/v1)")
        return value.rstrip("/")

    @field_validator("audio_base_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://calls.example/recordings)")
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        return None if value is None else language_code(value)

    @field_validator("agent_channel_by_folder", mode="before")
    @classmethod
    def _folders_from_text(cls, value: Any) -> Any:
        """'queue-b=right,old=left' (flag, environment) or a TOML table."""
        if isinstance(value, str):
            pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("give FOLDER=left|right pairs separated by commas, e.g. inbox/queue-b=right")
            return {folder.strip(): side.strip().lower() for folder, side in pairs}
        return value

    @field_validator("languages", "vocabulary", mode="before")
    @classmethod
    def _list_from_text(cls, value: Any, info: ValidationInfo) -> Any:
        """'en,ru' / 'Acme Telecom,FlexiPlan' (flag, environment) or a TOML list, blanks and
        repeats dropped; each language a code Whisper knows."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            return value
        texts = [str(item).strip() for item in items if str(item).strip()]
        if info.field_name == "vocabulary":
            check_terms(texts)
        return tuple(dict.fromkeys(map(language_code, texts) if info.field_name == "languages" else texts))

    @field_validator("languages")
    @classmethod
    def _language_among_them(cls, languages: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        language = info.data.get("language")
        if language and languages and language not in languages:
            raise ValueError(f"language {language} (every call) is not among them ({', '.join(languages)}): "
                             "leave one of the two out, or list it")
        return languages

    def agent_channel_for(self, path: Path, sidecar_choice: Literal["left", "right"] | None = None
                          ) -> Literal["left", "right"]:
        """The agent channel of the recording at ``path``: the sidecar's choice, else the nearest
        folder of ``agent_channel_by_folder`` that holds it, else ``agent_channel``."""
        if sidecar_choice is not None:
            return sidecar_choice
        where = Path(path).expanduser().resolve()
        best: tuple[int, Literal["left", "right"]] | None = None
        for folder, side in self.agent_channel_by_folder.items():
            root = Path(folder).expanduser().resolve()
            if where.is_relative_to(root) and (best is None or len(root.parts) > best[0]):
                best = (len(root.parts), side)
        return best[1] if best else self.agent_channel

    @field_validator("redact", mode="before")
    @classmethod
    def _kinds_from_text(cls, value: Any) -> Any:
        """'card,email' (flag, environment) or a TOML list; 'none' or '' for no redaction."""
        if value is False:
            return ()
        if isinstance(value, str):
            text = value.strip().lower()
            return () if text in ("", "none", "off", "false") else tuple(k.strip() for k in text.split(",") if k.strip())
        return value


SETTING_NAMES = tuple(Settings.model_fields)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_terms(terms: Iterable[str]) -> None:
    """Refuse a vocabulary term holding a control character (a line break, an escape): Whisper
    would read it as part of the words around it."""
    for term in terms:
        if _CONTROL.search(term):
            raise ValueError(f"the vocabulary term {ascii(term[:40])} holds a control character")


def language_code(value: str) -> str:
    """``value`` as a language code Whisper knows ("RU" -> "ru"); ``ValueError`` otherwise."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    code = str(value).strip().lower()
    if code not in _LANGUAGE_CODES:
        raise ValueError(f"{value!r} is not a language code Whisper knows (e.g. en, ru, cs, de)")
    return code


def _from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for name in SETTING_NAMES:
        value = environ.get(ENV_PREFIX + name.upper())
        if value not in (None, ""):
            found[name] = value
    return found


def _from_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SetupError(f"cannot read settings file {path}: {exc}") from exc
    section = data.get("callscore", data)
    unknown = sorted(set(section) - set(SETTING_NAMES))
    if unknown:
        raise SetupError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(SETTING_NAMES)}"
        )
    return dict(section)


def config_file_path(environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The settings file in use: ``CALLSCORE_CONFIG`` if set (it must exist), else ./callscore.toml."""
    named = environ.get(ENV_PREFIX + "CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise SetupError(f"CALLSCORE_CONFIG names {path}, which is not a file")
        return path
    local = cwd / CONFIG_FILE_NAME
    return local if local.is_file() else None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge default < callscore.toml < environment < flags (flags that are ``None`` are unset)."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    layers: list[tuple[str, dict[str, Any]]] = []
    config_path = config_file_path(environ, cwd)
    if config_path is not None:
        layers.append((str(config_path), _from_config_file(config_path)))
    layers.append(("environment", _from_environment(environ)))
    layers.append(("command line", {k: v for k, v in (flags or {}).items() if v is not None}))

    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, values in layers:
        for name, value in values.items():
            merged[name] = value
            origin[name] = source
    try:
        return Settings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = origin.get(name, "settings")
        raise SetupError(f"invalid setting {name} (from {where}): {first['msg']}") from exc


def worker_name(environ: Mapping[str, str] | None = None) -> str:
    """Who processes recordings here: ``CALLSCORE_WORKER``, or this machine's host name."""
    import socket

    environ = os.environ if environ is None else environ
    return environ.get("CALLSCORE_WORKER") or socket.gethostname()
