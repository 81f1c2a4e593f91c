"""The page of every ``callscore`` command and option, from the click commands themselves."""

from __future__ import annotations

from typing import Iterator

import click

from pipeline.manual.markdown import GENERATED_NOTE, code, inline, paragraphs, table


def commands(group: click.Group, path: str = "callscore") -> Iterator[tuple[str, click.Command]]:
    """Every command under ``group`` with its full name (``callscore models pull``), the group
    first, in alphabetical order; hidden ones are left out."""
    yield path, group
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


def anchor(path: str) -> str:
    """The heading id of a command's section: ``callscore models pull`` -> ``callscore-models-pull``."""
    return path.replace(" ", "-")


def _options(command: click.Command, context: click.Context) -> list[tuple[str, str]]:
    rows = []
    for param in command.get_params(context):
        record = param.get_help_record(context)
        if record is None or getattr(param, "hidden", False) or "--help" in param.opts:
            continue
        flags, help_text = record
        rows.append((code(flags), inline(help_text)))
    return rows


def _section(path: str, command: click.Command) -> list[str]:
    context = click.Context(command, info_name=path, terminal_width=100, max_content_width=100)
    usage = " ".join([path] + command.collect_usage_pieces(context))
    out = [f"## {path} {{ #{anchor(path)} }}", "", f"```text\n{usage}\n```", ""]
    for paragraph in paragraphs((command.help or "").split("\f")[0]):
        out += [paragraph, ""]
    if isinstance(command, click.Group):
        rows = [(f"[{code(path + ' ' + name)}](#{anchor(path + ' ' + name)})",
                 inline(sub.get_short_help_str(limit=1000))) for name, sub in sorted(command.commands.items())
                if not sub.hidden]
        out += [table(("Command", "What it does"), rows), ""]
    options = _options(command, context)
    if options:
        out += [table(("Option", "Meaning"), options), ""]
    return out


def cli_page(group: click.Group) -> str:
    """The Markdown of the command reference."""
    out = ["# Commands", "", GENERATED_NOTE, "",
           "Every `callscore` command and option, as `--help` prints them. A setting's option also has a"
           " `CALLSCORE_*` environment variable and a `callscore.toml` key: see [Settings](settings.md). Every"
           " command also takes `-h` or `--help`, which prints what this page says of it.", ""]
    for path, command in commands(group):
        out += _section(path, command)
    return "\n".join(out).rstrip() + "\n"
