"""The reference pages, each file name with its Markdown, written into docs/reference or checked
against what is there."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipeline.cli import main
from pipeline.cli.exit_codes import EXIT_CODES
from pipeline.manual.cli_reference import cli_page
from pipeline.manual.markdown import GENERATED_NOTE, code, inline, table
from pipeline.manual.settings_reference import settings_page
from pipeline.manual.warehouse_reference import catalog, sql_meanings, warehouse_page


def exit_codes_page() -> str:
    """The Markdown of the exit codes."""
    rows = [(code(str(exit.code)), code(exit.name), inline(exit.meaning)) for exit in EXIT_CODES]
    return "\n".join(["# Exit codes", "", GENERATED_NOTE, "",
                      "Every `callscore` command ends with one of these, so that a script or a scheduler can tell"
                      " what happened. Errors are one line on stderr; with `--json` only data goes to stdout.", "",
                      table(("Code", "Name in the code", "What it means"), rows)]) + "\n"


def reference_pages() -> dict[str, str]:
    """Every generated page by its file name under docs/reference."""
    with tempfile.TemporaryDirectory(prefix="callscore-manual-") as folder:
        objects = catalog(Path(folder) / "fresh.duckdb")
    return {"cli.md": cli_page(main), "settings.md": settings_page(main),
            "warehouse.md": warehouse_page(objects, sql_meanings()), "exit-codes.md": exit_codes_page()}


def _differs(path: Path, text: str) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != text


def write_pages(folder: Path) -> list[str]:
    """Write the pages into ``folder``; the names of those that changed."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in reference_pages().items():
        if _differs(folder / name, text):
            (folder / name).write_text(text, encoding="utf-8")
            changed.append(name)
    return changed


def stale_pages(folder: Path, pages: dict[str, str] | None = None) -> list[str]:
    """The pages in ``folder`` that differ from ``pages`` (default: what the code generates now),
    or are missing."""
    pages = reference_pages() if pages is None else pages
    return [name for name, text in pages.items() if _differs(folder / name, text)]
