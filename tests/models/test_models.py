"""Model presets and `callscore models`: what is listed, how preset names resolve, and `pull`
failing at once where no model hub can be reached."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.errors import ModelError
from pipeline.models.choice import choose_models, embedded_llm_model, embedded_whisper_model, llm_location, smollm2_model
from pipeline.models.presets import PRESETS, check_hub, find_preset
from tests.conftest import run_cli

LLAMA_8B = "llama-3.1-8b-instruct-q4_k_m"
MULTILINGUAL = "whisper-base-multilingual"  # assembled from two packages of the registry
GEMMA = "gemma3-270m"  # assembled from five packages of the registry
PRODUCTION = {"large-v3", "large-v3-turbo", "distil-large-v3", LLAMA_8B, "qwen2.5-7b-instruct-q4_k_m",
              "llama-3.2-3b-instruct-q4_k_m"}


@pytest.fixture(autouse=True)
def _empty_model_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder (so models/ is empty and no callscore.toml applies) with an empty
    Hugging Face cache, whatever this machine has downloaded before."""
    from huggingface_hub import constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))


def _listed(*args: str) -> dict[str, dict]:
    result = run_cli("models", *args)
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_list_shows_embedded_models_present_and_production_presets_absent() -> None:
    embedded_llm_model()  # joined from its packages on first use: by the first run, here by hand
    rows = _listed("--json")
    assert set(rows) == {p.name for p in PRESETS} == PRODUCTION | {"tiny.en", "smollm2-135m", MULTILINGUAL, GEMMA}
    for name in ("tiny.en", GEMMA):  # the embedded defaults (Gemma joined from its packages on first use)
        assert rows[name]["present"] and rows[name]["size_mb"] > 0 and rows[name]["configured"]
    assert rows["smollm2-135m"]["present"] and not rows["smollm2-135m"]["configured"]
    assert rows["tiny.en"]["resolves_to"] == str(embedded_whisper_model())
    for name in PRODUCTION:
        assert not rows[name]["present"] and rows[name]["size_mb"] is None and not rows[name]["configured"]
        assert rows[name]["approx_mb"] > 1000
    assert rows["large-v3"]["resolves_to"] == "Systran/faster-whisper-large-v3"
    assert not rows[MULTILINGUAL]["present"] and not rows[MULTILINGUAL]["configured"]
    assert rows[MULTILINGUAL]["resolves_to"] == f"{Path('models') / MULTILINGUAL} (callscore models pull {MULTILINGUAL})"
    assert rows[GEMMA]["resolves_to"] == str(embedded_llm_model()) and "callscore" in rows[GEMMA]["resolves_to"]
    assert rows[LLAMA_8B]["resolves_to"] == str(Path("models") / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    assert _listed("list", "--json") == rows


def test_list_for_people_marks_the_configured_models() -> None:
    result = run_cli("models")
    assert result.exit_code == 0
    lines = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    assert "*" in lines["tiny.en"] and "*" in lines[GEMMA] and "*" not in lines["large-v3"]
    assert "*" not in lines["smollm2-135m"]
    assert "~4920" in lines[LLAMA_8B]


def test_a_preset_name_resolves_to_its_file_in_models_dir(tmp_path: Path) -> None:
    settings = load_settings({"llm_model": Path(LLAMA_8B), "models_dir": tmp_path / "gguf"})
    path, preset = llm_location(settings)
    assert preset is find_preset(LLAMA_8B) and path == tmp_path / "gguf" / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    with pytest.raises(ModelError, match=f"does not exist .*callscore models pull {LLAMA_8B}"):
        choose_models(settings)
    embedded = choose_models(load_settings({"llm_model": Path(GEMMA), "whisper_model": "tiny.en"}))
    assert embedded == choose_models(load_settings({}))  # the embedded presets are the defaults


def test_scoring_with_a_preset_not_downloaded_stops_with_one_line(tmp_path: Path) -> None:
    call = tmp_path / "call.wav"
    call.write_bytes(b"not audio")
    result = run_cli("score", str(call), "--db", str(tmp_path / "w.duckdb"), "--llm-model", LLAMA_8B)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"callscore models pull {LLAMA_8B}" in result.stderr and "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf" in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_a_preset_copied_by_hand_is_listed_present_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models_dir = tmp_path / "my-models"
    models_dir.mkdir()
    copy = models_dir / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    shutil.copyfile(smollm2_model(), copy)  # stands in for the real file: listed, never scored with
    monkeypatch.setenv("CALLSCORE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("CALLSCORE_LLM_MODEL", LLAMA_8B)

    rows = _listed("--json")
    row = rows[LLAMA_8B]
    assert row["present"] and row["configured"] and row["resolves_to"] == str(copy)
    assert row["size_mb"] == round(copy.stat().st_size / 1e6, 1) > 0
    assert not rows["smollm2-135m"]["configured"] and rows["tiny.en"]["configured"]
    assert choose_models(load_settings({})).llm_path == copy


def test_models_named_by_path_are_listed_as_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSCORE_LLM_MODEL", str(tmp_path / "custom.gguf"))
    monkeypatch.setenv("CALLSCORE_WHISPER_MODEL", str(embedded_whisper_model()))
    rows = _listed("--json")
    assert rows["custom.gguf"]["configured"] and not rows["custom.gguf"]["present"] and not rows["custom.gguf"]["preset"]
    whisper = rows[str(embedded_whisper_model())]
    assert whisper["configured"] and whisper["present"] and whisper["size_mb"] > 0
    assert not any(r["configured"] for r in rows.values() if r["preset"])


@pytest.mark.parametrize("name", ["large-v3", "llama-3.2-3b-instruct-q4_k_m"])
def test_pull_fails_at_once_without_a_hub(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    if check_hub() is None:  # pragma: no cover - this machine can reach the hub: do not download gigabytes
        monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # inject the fault: nothing listens
    started = time.monotonic()
    result = run_cli("models", "pull", name)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2 and result.stdout == ""
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert message.startswith("error: cannot reach") and f"to download {name}" in message
    assert "by hand" in message
    if name.startswith("llama"):
        assert str(Path("models") / "Llama-3.2-3B-Instruct-Q4_K_M.gguf") in message
    assert not Path("models").exists()


def test_pull_of_an_embedded_model_has_nothing_to_do() -> None:
    result = run_cli("models", "pull", "smollm2-135m")
    assert result.exit_code == 0 and result.stdout.strip() == str(smollm2_model())


def test_pull_of_an_unknown_name_lists_the_known_ones() -> None:
    result = run_cli("models", "pull", "nonsense")
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "unknown model 'nonsense'" in message
    assert all(p.name in message for p in PRESETS)


def test_whisper_presets_are_what_faster_whisper_downloads_for_their_names() -> None:
    from faster_whisper.utils import _MODELS

    for preset in PRESETS:
        if preset.kind == "whisper" and preset.source == "hub":
            assert _MODELS[preset.name] == preset.repo
        if preset.kind == "llm" and preset.source == "hub":
            assert preset.file_name and preset.file_name.endswith(".gguf") and "/" in (preset.repo or "")


def test_the_multilingual_model_is_assembled_from_its_packages_listed_and_used(tmp_path: Path) -> None:
    """`callscore models pull` joins the two parts (their packages are installed by make install),
    checks the SHA-256 and puts the model in models_dir; a second pull finds it there."""
    result = run_cli("models", "pull", MULTILINGUAL, "--models-dir", "m")
    assert result.exit_code == 0, result.stderr
    folder = Path("m") / MULTILINGUAL
    assert result.stdout.strip() == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert not any(p.name.startswith(".") for p in Path("m").iterdir())  # no partial folder left
    listed = _listed("--json", "--models-dir", "m")[MULTILINGUAL]
    assert listed["present"] and 140 < listed["size_mb"] < 160 and listed["resolves_to"] == str(folder)
    again = run_cli("models", "pull", MULTILINGUAL, "--models-dir", "m")
    assert again.exit_code == 0 and "already here" in again.stderr
    choice = choose_models(load_settings({"whisper_model": MULTILINGUAL, "models_dir": Path("m")}))
    assert (choice.whisper, choice.whisper_name) == (str(folder), MULTILINGUAL)


def test_gemma_is_assembled_from_its_packages_with_its_hash_checked_and_its_terms_named() -> None:
    """Its five packages (installed by make install) join into the GGUF file of the SHA-256 the
    preset names, with the Gemma terms beside it; pull says under which terms it comes."""
    import hashlib

    result = run_cli("models", "pull", GEMMA, "--models-dir", "m")
    assert result.exit_code == 0, result.stderr
    gguf = Path("m") / GEMMA / "gemma-3-270m-q4_k_m.gguf"
    assert result.stdout.strip() == str(gguf)
    assert "Gemma Terms of Use" in result.stderr and (gguf.parent / "GEMMA_TERMS.html").is_file()
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert digest == find_preset(GEMMA).sha256
    assert not any(p.name.endswith(".gguf.part00") for p in gguf.parent.iterdir())  # only the joined file
    listed = _listed("--json", "--models-dir", "m")[GEMMA]
    assert listed["present"] and 250 < listed["size_mb"] < 256 and listed["resolves_to"] == str(gguf)
    choice = choose_models(load_settings({"llm_model": Path(GEMMA), "models_dir": Path("m")}))
    assert (choice.llm_path, choice.llm_name) == (gguf, gguf.name)


def test_the_default_llm_is_gemma_joined_from_its_packages_into_the_cache_on_first_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSCORE_CACHE_DIR", str(tmp_path / "cache"))
    choice = choose_models(load_settings({}))
    gguf = tmp_path / "cache" / "models" / GEMMA / "gemma-3-270m-q4_k_m.gguf"
    assert (choice.llm_path, choice.llm_name) == (gguf, "gemma-3-270m-q4_k_m.gguf") and gguf.is_file()
    assert (gguf.parent / "GEMMA_TERMS.html").is_file()


@pytest.mark.parametrize(("name", "joined", "digest"), [(MULTILINGUAL, "model.bin", "d01c3014"),
                                                     (GEMMA, "gemma-3-270m-q4_k_m.gguf", "a5fd3b62")])
def test_parts_that_do_not_join_into_the_expected_model_leave_nothing(tmp_path: Path, name: str, joined: str,
                                                                       digest: str) -> None:
    import dataclasses

    from pipeline.models.presets import assemble

    preset = dataclasses.replace(find_preset(name), sha256="0" * 64)
    with pytest.raises(ModelError, match=f"the parts of {name} join into a {joined} of SHA-256 {digest}"):
        assemble(preset, tmp_path / "m", install=False)
    assert list((tmp_path / "m").iterdir()) == []


def test_the_multilingual_model_not_assembled_yet_says_how_to_get_it() -> None:
    with pytest.raises(ModelError, match=f"run `callscore models pull {MULTILINGUAL}`"):
        choose_models(load_settings({"whisper_model": MULTILINGUAL}))
