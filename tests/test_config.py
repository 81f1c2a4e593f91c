from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.errors import SetupError


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings = load_settings({}, environ={}, cwd=tmp_path)
    assert settings.db == Path("warehouse/callscore.duckdb")
    assert settings.scorecard.name == "support-default.yaml"
    assert settings.whisper_model is None and settings.llm_model is None  # embedded models
    assert settings.device == "auto" and settings.agent_channel == "left"


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    (tmp_path / "callscore.toml").write_text('db = "from-file.duckdb"\nllm_context = 2048\nagent_channel = "right"\n')
    environ = {"CALLSCORE_DB": "from-env.duckdb", "CALLSCORE_LLM_CONTEXT": "3072"}

    from_file_and_env = load_settings({}, environ=environ, cwd=tmp_path)
    assert from_file_and_env.db == Path("from-env.duckdb")
    assert from_file_and_env.llm_context == 3072
    assert from_file_and_env.agent_channel == "right"  # only the file sets it

    with_flag = load_settings({"db": Path("from-flag.duckdb"), "llm_context": None}, environ=environ, cwd=tmp_path)
    assert with_flag.db == Path("from-flag.duckdb")
    assert with_flag.llm_context == 3072  # a flag left unset does not override


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[callscore]\nwhisper_model = "large-v3"\n')
    settings = load_settings({}, environ={"CALLSCORE_CONFIG": str(config)}, cwd=tmp_path)
    assert settings.whisper_model == "large-v3"


@pytest.mark.parametrize(
    ("environ", "toml", "message"),
    [
        ({"CALLSCORE_DEVICE": "tpu"}, None, "invalid setting device (from environment)"),
        ({}, "llm_context = 10\n", "invalid setting llm_context (from"),
        ({"CALLSCORE_LLM_CONTEXT": "100000000"}, None, "invalid setting llm_context (from environment): Input should be less than or equal to 262144"),
        ({}, "llm_timeout_s = 0\n", "invalid setting llm_timeout_s (from"),
        ({}, "colour = 'blue'\n", "unknown setting(s) colour"),
        ({}, "db = [unclosed\n", "cannot read settings file"),
        ({"CALLSCORE_CONFIG": "/nonexistent/callscore.toml"}, None, "CALLSCORE_CONFIG names"),
    ],
)
def test_bad_settings_say_what_and_where(tmp_path: Path, environ: dict, toml: str | None, message: str) -> None:
    if toml is not None:
        (tmp_path / "callscore.toml").write_text(toml)
    with pytest.raises(SetupError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({}, environ=environ, cwd=tmp_path)


def test_models_dir_defaults_to_models_and_is_overridable(tmp_path: Path) -> None:
    assert load_settings({}, environ={}, cwd=tmp_path).models_dir == Path("models")
    (tmp_path / "callscore.toml").write_text('models_dir = "/srv/gguf"\n')
    assert load_settings({}, environ={}, cwd=tmp_path).models_dir == Path("/srv/gguf")
    environ = {"CALLSCORE_MODELS_DIR": "/opt/models"}
    assert load_settings({}, environ=environ, cwd=tmp_path).models_dir == Path("/opt/models")
