"""The manual's reference pages are generated from the code and kept current: every command and
option, every setting, every table, view and column of a freshly migrated warehouse and every
exit code is on its page, and a page older than the code is named as stale."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

import click
import duckdb
import pytest

from pipeline.cli import main
from pipeline.cli.exit_codes import EXIT_CODES
from pipeline.config import Settings
from pipeline.manual.pages import reference_pages, stale_pages, write_pages
from pipeline.store.warehouse import Warehouse
from tests.conftest import ROOT

REFERENCE = ROOT / "docs" / "reference"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return reference_pages()


def sections(page: str) -> dict[str, str]:
    """A page's text under each ``##`` or ``###`` heading, by the heading's name."""
    found = {}
    for block in re.split(r"^#{2,3} ", page, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        found[heading.split(" { #")[0].strip()] = body
    return found


def test_the_committed_pages_are_what_the_code_generates_now(pages: dict[str, str]) -> None:
    stale = stale_pages(REFERENCE, pages)
    differences = ["".join(difflib.unified_diff((REFERENCE / name).read_text(encoding="utf-8").splitlines(True),
                                                pages[name].splitlines(True), f"docs/reference/{name}", "generated",
                                                n=1)) for name in stale if (REFERENCE / name).is_file()]
    assert stale == [], "run `make reference` and commit docs/reference:\n" + "".join(differences)


def test_a_page_older_than_the_code_is_named_and_check_exits_1(tmp_path: Path) -> None:
    assert sorted(write_pages(tmp_path)) == ["cli.md", "exit-codes.md", "settings.md", "warehouse.md"]
    assert write_pages(tmp_path) == []  # written again: nothing changed
    settings_page = tmp_path / "settings.md"
    settings_page.write_text(settings_page.read_text().replace("## beam_size", "## beam_width"))
    assert stale_pages(tmp_path) == ["settings.md"]
    check = subprocess.run([sys.executable, "-m", "pipeline.manual", "--check", str(tmp_path)], cwd=ROOT,
                           capture_output=True, text=True)
    assert check.returncode == 1 and f"{settings_page} is stale" in check.stderr


def every_command(group: click.Group, path: str = "callscore") -> list[tuple[str, click.Command]]:
    found = [(path, group)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += every_command(command, f"{path} {name}")
        else:
            found.append((f"{path} {name}", command))
    return found


def test_every_command_and_option_is_on_the_commands_page(pages: dict[str, str]) -> None:
    by_command = sections(pages["cli.md"])
    commands = every_command(main)
    assert len(commands) > 25
    for path, command in commands:
        assert path in by_command, f"{path} is missing from the commands page"
        for param in command.params:
            if isinstance(param, click.Option) and "--help" not in param.opts:
                assert all(f"{flag}" in by_command[path] for flag in param.opts), (path, param.opts)
            if isinstance(param, click.Argument):
                assert param.make_metavar(click.Context(command)) in by_command[path], (path, param.name)
        assert (command.help or "").split("\n")[0].split()[0] in by_command[path]


def test_every_setting_is_on_the_settings_page_with_its_flag_variable_and_default(pages: dict[str, str]) -> None:
    by_setting = sections(pages["settings.md"])
    assert set(by_setting) == set(Settings.model_fields)
    score = main.commands["score"]
    for name, field in Settings.model_fields.items():
        text = by_setting[name]
        assert f"`CALLSCORE_{name.upper()}`" in text
        assert " ".join(field.description.split())[:40].replace("*", "\\*").replace("_", "\\_") in text, name
        flags = [p for p in score.params if p.name == name]
        if flags:
            assert f"`{max(flags[0].opts, key=len)}` (" in text and "[score](cli.md#callscore-score)" in text
    assert "`4096`" in by_setting["llm_context"] and "`left`" in by_setting["agent_channel"]


def test_the_settings_guide_places_every_setting() -> None:
    guide = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"(reference/settings.md#{name})" not in guide]
    assert missing == [], "add these settings to docs/settings.md's table"


def test_every_table_view_and_column_of_a_fresh_warehouse_is_on_its_page(pages: dict[str, str], tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "fresh.duckdb"):
        pass
    connection = duckdb.connect(str(tmp_path / "fresh.duckdb"), read_only=True)
    columns = connection.execute("SELECT table_name, column_name FROM information_schema.columns"
                                 " WHERE table_schema = 'main'").fetchall()
    kinds = dict(connection.execute("SELECT table_name, table_type FROM information_schema.tables"
                                    " WHERE table_schema = 'main'").fetchall())
    connection.close()
    by_object = sections(pages["warehouse.md"])
    assert {"kpi_calls", "kpi_agents", "kpi_criteria", "recordings", "scores", "schema_migrations"} <= set(kinds)
    assert set(by_object) == set(kinds) | {"Views", "Tables"}
    for table, column in columns:
        assert f"| `{column}` |" in by_object[table], f"{table}.{column} is missing from the warehouse page"
    for name in kinds:
        meaning = by_object[name].strip().split("\n")[0]
        assert not meaning.startswith("Defined in") and len(meaning) > 20, \
            f"{name} has no meaning: write a comment right above its CREATE in the SQL"
    views, tables = pages["warehouse.md"].split("## Tables")
    assert all((f"### {name} " in views) == (kind == "VIEW") for name, kind in kinds.items())


def test_a_column_comment_beside_the_sql_is_its_meaning(pages: dict[str, str]) -> None:
    by_object = sections(pages["warehouse.md"])
    assert "| `sample_rate` | `INTEGER` | Hz of the source |" in by_object["recordings"]
    assert "| `llm_sha256` | `VARCHAR` | SHA-256 of the GGUF file" in by_object["runs"]


def test_every_exit_code_is_on_its_page(pages: dict[str, str]) -> None:
    assert [exit.code for exit in EXIT_CODES] == [0, 1, 2, 3, 130]
    for exit in EXIT_CODES:
        assert f"| `{exit.code}` | `{exit.name}` |" in pages["exit-codes.md"]
