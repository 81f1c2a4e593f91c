"""The page of every setting: its ``callscore.toml`` key, the options that set it, its
``CALLSCORE_*`` variable, default and description, all from ``Settings`` and the click commands."""

from __future__ import annotations

import click

from pipeline.cli.options import default_text, env_name
from pipeline.config import Settings
from pipeline.manual.cli_reference import anchor, commands
from pipeline.manual.markdown import GENERATED_NOTE, code, inline, table


def flags_by_setting(group: click.Group) -> dict[str, dict[str, list[str]]]:
    """For each setting an option sets: its flag and the commands that have it."""
    found: dict[str, dict[str, list[str]]] = {}
    for path, command in commands(group):
        for param in command.params:
            if isinstance(param, click.Option) and param.name in Settings.model_fields:
                flag = max(param.opts, key=len)
                found.setdefault(param.name, {}).setdefault(flag, []).append(path)
    return found


def _type_text(setting: str) -> str:
    annotation = Settings.model_fields[setting].annotation
    text = str(getattr(annotation, "__name__", annotation))
    return text.replace("typing.", "").replace("pathlib.", "").replace(" | ", " or ")


def _flags_cell(flags: dict[str, list[str]]) -> str:
    cells = []
    for flag, paths in sorted(flags.items()):
        where = ", ".join(f"[{path.removeprefix('callscore ')}](cli.md#{anchor(path)})" for path in paths)
        cells.append(f"{code(flag)} ({where})")
    return "<br>".join(cells) or "none: set it in the environment or callscore.toml"


def settings_page(group: click.Group) -> str:
    """The Markdown of the settings reference."""
    flags = flags_by_setting(group)
    out = ["# Settings", "", GENERATED_NOTE, "",
           "Every setting is read, first to last, from the command's option, the `CALLSCORE_*` environment"
           " variable, `callscore.toml` (in the working directory, or the file `CALLSCORE_CONFIG` names) and"
           " its default. Its name is the same in all of them: `--llm-model`, `CALLSCORE_LLM_MODEL`,"
           " `llm_model = \"...\"`. How to choose them: [Settings in practice](../settings.md).", ""]
    for setting, field in Settings.model_fields.items():
        default = default_text(setting)
        out += [f"## {setting} {{ #{setting} }}", "", inline(field.description or ""), "",
                table(("Where", "How"), [
                    ("callscore.toml", code(f"{setting} = ...")),
                    ("Environment", code(env_name(setting))),
                    ("Options", _flags_cell(flags.get(setting, {}))),
                    ("Type", code(_type_text(setting))),
                    ("Default", code(default) if default else "none (worked out at run time, or off)"),
                ]), ""]
    return "\n".join(out).rstrip() + "\n"
