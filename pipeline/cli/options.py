"""The command line's options, each declared once. An option that sets a setting takes its help
from ``Settings`` (the field's description), and its help names the setting's default and its
``CALLSCORE_*`` variable, both generated, so the three places a setting can come from never
disagree. The values are resolved by ``pipeline.config.load_settings`` (flag, environment,
callscore.toml, default), not by click."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from pipeline.config import ENV_PREFIX, Settings

Decorator = Callable[[Any], Any]

# How a default reads where the field's own default is not what a user sees.
_DEFAULT_TEXT = {
    "scorecard": "prompts/support-default.yaml",
    "whisper_model": "embedded tiny.en",
    "llm_model": "embedded Gemma 3 270M",
    "redact": "card,email,phone,number",
    "vocabulary": "none",
    "languages": "any",
}


def env_name(setting: str) -> str:
    """``db`` -> ``CALLSCORE_DB``."""
    return ENV_PREFIX + setting.upper()


def default_text(setting: str) -> str | None:
    """How ``setting``'s default reads to a user; ``None`` when it has none to show (it is
    worked out at run time, or the setting is off unless given)."""
    field = Settings.model_fields[setting]
    default = _DEFAULT_TEXT.get(setting)
    if default is None and field.default is not None and not field.is_required():
        default = str(field.default)
    return default


def setting_help(setting: str, text: str | None = None) -> str:
    """The help of the option for ``setting``: ``text`` (default: the field's description),
    then its default and its environment variable."""
    field = Settings.model_fields[setting]
    default = default_text(setting)
    parts = [f"default: {default}"] if default else []
    parts.append(f"env: {env_name(setting)}")
    return f"{text or field.description} [{'; '.join(parts)}]"


def setting_option(setting: str, *, help: str | None = None, **kwargs: Any) -> Decorator:
    """``--setting-name`` for a setting (``None`` when not given: the other layers decide)."""
    return click.option(f"--{setting.replace('_', '-')}", setting, default=None, help=setting_help(setting, help),
                        **kwargs)


def _choices(setting: str) -> click.Choice:
    return click.Choice(list(Settings.model_fields[setting].annotation.__args__))  # type: ignore[union-attr]


def db_option(help: str | None = None) -> Decorator:
    return setting_option("db", type=click.Path(dir_okay=False, path_type=Path), help=help)


def scorecard_option(help: str | None = None, *, must_exist: bool = False) -> Decorator:
    return setting_option("scorecard", type=click.Path(exists=must_exist, dir_okay=False, path_type=Path), help=help)


def whisper_model_option(help: str | None = None) -> Decorator:
    return setting_option("whisper_model", help=help)


def llm_model_option(help: str | None = None) -> Decorator:
    return setting_option("llm_model", type=click.Path(path_type=Path), help=help)


def device_option(help: str | None = None) -> Decorator:
    return setting_option("device", type=_choices("device"), help=help)


llm_backend_option = setting_option("llm_backend", type=_choices("llm_backend"))
llm_url_option = setting_option("llm_url", metavar="URL")
llm_concurrency_option = setting_option("llm_concurrency", type=click.IntRange(1, 64), metavar="N")
llm_evidence_option = setting_option("llm_evidence", type=_choices("llm_evidence"))
agent_channel_option = setting_option("agent_channel", type=_choices("agent_channel"))
language_option = setting_option("language", metavar="CODE")
languages_option = setting_option("languages", metavar="CODES")
vocabulary_option = setting_option("vocabulary", metavar="TERMS")
redact_option = setting_option("redact", metavar="KINDS", help="Personal data masked before anything is stored or "
                               "sent to the LLM: comma list of card,email,phone,number, or none.")
models_dir_option = setting_option("models_dir", type=click.Path(file_okay=False, path_type=Path))

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print data as JSON on stdout (messages stay on stderr); no tables, no progress bar.")
verbose_option = click.option("-v", "--verbose", is_flag=True, help="More log lines on stderr.")


def options(*decorators: Decorator) -> Decorator:
    """Apply ``decorators`` in the order given (the first is the first in --help)."""
    def apply(command: Any) -> Any:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command
    return apply
