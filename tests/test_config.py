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


def test_languages_vocabulary_and_folder_channels_from_every_source(tmp_path: Path) -> None:
    (tmp_path / "callscore.toml").write_text(
        'languages = ["ru", "CS"]\nvocabulary = ["Northwind Energy", "FlexiSaver", "FlexiSaver", " "]\n'
        '[agent_channel_by_folder]\n"inbox/queue-b" = "right"\n')
    settings = load_settings({}, environ={}, cwd=tmp_path)
    assert settings.languages == ("ru", "cs")
    assert settings.vocabulary == ("Northwind Energy", "FlexiSaver")
    assert settings.agent_channel_by_folder == {"inbox/queue-b": "right"}
    from_environment = load_settings({}, environ={"CALLSCORE_LANGUAGES": "en,ru", "CALLSCORE_LANGUAGE": "RU",
                                                  "CALLSCORE_VOCABULARY": "Acme, Acme Plus",
                                                  "CALLSCORE_AGENT_CHANNEL_BY_FOLDER": "a=right, a/b=left"}, cwd=tmp_path)
    assert (from_environment.languages, from_environment.language) == (("en", "ru"), "ru")
    assert from_environment.vocabulary == ("Acme", "Acme Plus")
    assert from_environment.agent_channel_by_folder == {"a": "right", "a/b": "left"}


@pytest.mark.parametrize(("environ", "message"), [
    ({"CALLSCORE_LANGUAGE": "russian"}, "invalid setting language (from environment): Value error, 'russian' is not a language code"),
    ({"CALLSCORE_LANGUAGES": "en,xx"}, "invalid setting languages (from environment): Value error, 'xx' is not a language code"),
    ({"CALLSCORE_AGENT_CHANNEL_BY_FOLDER": "inbox"}, "invalid setting agent_channel_by_folder (from environment): Value error, give FOLDER=left|right"),
    ({"CALLSCORE_AGENT_CHANNEL_BY_FOLDER": "inbox=middle"}, "invalid setting agent_channel_by_folder"),
])
def test_bad_language_and_channel_settings_say_what(tmp_path: Path, environ: dict, message: str) -> None:
    with pytest.raises(SetupError, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")):
        load_settings({}, environ=environ, cwd=tmp_path)


def test_the_agent_channel_of_a_call_comes_from_its_sidecar_then_its_nearest_folder(tmp_path: Path) -> None:
    settings = load_settings({"agent_channel_by_folder": {str(tmp_path / "b"): "right",
                                                          str(tmp_path / "b" / "old"): "left"}}, environ={}, cwd=tmp_path)
    assert settings.agent_channel_for(tmp_path / "a" / "call.mp3") == "left"  # the global default
    assert settings.agent_channel_for(tmp_path / "b" / "call.mp3") == "right"
    assert settings.agent_channel_for(tmp_path / "b" / "old" / "x" / "call.mp3") == "left"  # the nearest wins
    assert settings.agent_channel_for(tmp_path / "b" / "call.mp3", "left") == "left"  # the sidecar wins
    assert settings.agent_channel_for(tmp_path / "bb" / "call.mp3") == "left"  # a folder, not a name prefix


def test_a_language_outside_the_languages_or_a_vocabulary_with_control_characters_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="language en .every call. is not among them .ru."):
        load_settings({"language": "en", "languages": "ru"}, environ={}, cwd=tmp_path)
    assert load_settings({"language": "en", "languages": "ru,en"}, environ={}, cwd=tmp_path).language == "en"
    with pytest.raises(SetupError, match="vocabulary term 'Acme\\\\nPlus' holds a control character"):
        load_settings({"vocabulary": "Acme\nPlus"}, environ={}, cwd=tmp_path)
