"""A local copy of a GGUF model in another weight type, made once by ``callscore models
prepare`` with llama.cpp's own quantizer: Q8_0 and Q4_0 are the types llama.cpp's fastest CPU
kernels handle (Q4_1 and the K-quants take slower paths). Whether the copy answers as the
original does is measured by ``pipeline.processing.model_check`` on stored transcripts, never
assumed: a copy is used only when it is given as ``llm_model``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ModelError

# weight type -> llama.cpp's file type (llama_ftype: LLAMA_FTYPE_MOSTLY_Q8_0, ..._Q4_0)
WEIGHT_TYPES = {"q8_0": 7, "q4_0": 2}
PREPARED_FOLDER = "prepared"  # under models_dir


@dataclass(frozen=True)
class PreparedCopy:
    source: Path
    path: Path
    weight_type: str
    seconds: float  # what making it took
    size_mb: float


def prepared_path(source: Path, weight_type: str, models_dir: Path) -> Path:
    """Where the copy of ``source`` in ``weight_type`` goes: models_dir/prepared/NAME.TYPE.gguf."""
    return Path(models_dir) / PREPARED_FOLDER / f"{Path(source).stem}.{weight_type}.gguf"


def prepare_copy(source: Path, weight_type: str, models_dir: Path, *, threads: int | None = None) -> PreparedCopy:
    """Write ``source``'s weights as ``weight_type`` into ``prepared_path`` (a finished file
    appears whole or not at all); an existing copy is made again."""
    import llama_cpp

    if weight_type not in WEIGHT_TYPES:
        raise ModelError(f"unknown weight type {weight_type!r}; known: {', '.join(WEIGHT_TYPES)}")
    if not Path(source).is_file():
        raise ModelError(f"no GGUF file at {source}")
    target = prepared_path(source, weight_type, models_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = WEIGHT_TYPES[weight_type]
    params.allow_requantize = True  # the source is quantized already
    params.nthread = threads or os.cpu_count() or 1
    started = time.perf_counter()
    try:
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params)
        if status != 0 or not partial.is_file():
            raise ModelError(f"llama.cpp could not write {source.name} as {weight_type} (status {status});"
                             " is it a GGUF model file?")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return PreparedCopy(Path(source), target, weight_type, round(time.perf_counter() - started, 2),
                        round(target.stat().st_size / 2**20, 1))
