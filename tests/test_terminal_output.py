"""What the command line prints from data (cells, file names, messages) is text: never read as
rich markup, never a terminal control sequence; and Ctrl-C at any moment ends with exit 130."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli.output import plain, printable
from pipeline.store.warehouse import Warehouse
from tests.conftest import GOOD_CALL, run_cli


def test_printable_removes_escape_sequences_and_shows_other_controls() -> None:
    assert printable("\x1b]0;owned\x07title") == "title"  # OSC: window title
    assert printable("\x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\") == "link"  # OSC 8 hyperlink
    assert printable("\x1b[31mred\x1b[0m \x1b[2J") == "red "  # CSI: colour, clear screen
    assert printable("a\x00b\x7fc\x9bd\u202eevil") == "a?b?c?d?evil"  # NUL, DEL, C1 CSI, bidi override
    assert printable("tab\tand\nnewline") == "tab\tand\nnewline"
    assert plain("[bold]x[/bold] [/x]") == "\\[bold]x\\[/bold] \\[/x]"


def test_sql_cells_are_printed_as_written(kpi_warehouse_path: Path) -> None:
    query = ("SELECT '[bold]loud[/bold]' AS markup, 'a[/x]b' AS closing, chr(27) || '[2J' || 'cleared' AS csi,"
             " chr(27) || ']0;owned' || chr(7) || 'titled' AS osc")
    result = run_cli("sql", query, "--db", str(kpi_warehouse_path))
    assert result.exit_code == 0, result.stderr
    for shown in ("[bold]loud[/bold]", "a[/x]b", "cleared", "titled"):
        assert shown in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    as_csv = run_cli("sql", query, "--db", str(kpi_warehouse_path), "--format", "csv")
    assert "[bold]loud[/bold]" in as_csv.stdout  # csv and json are for programs: the data as stored


def test_a_pattern_in_an_error_message_is_shown_whole(tmp_path: Path) -> None:
    card = tmp_path / "card.yaml"
    card.write_text("name: x\ncriteria:\n  - id: Bad-Id\n    question: Did the agent greet?\n")
    result = run_cli("score", str(GOOD_CALL), "--db", str(tmp_path / "w.duckdb"), "--scorecard", str(card))
    assert result.exit_code == 2
    assert "'^[a-z0-9_]+$'" in result.stderr


@pytest.mark.parametrize("args", [("sql", "SELECT 1"), ("report",), ("score", str(GOOD_CALL))])
def test_ctrl_c_while_the_warehouse_opens_exits_130_with_one_line(args: tuple[str, ...], kpi_warehouse_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Warehouse, "open", interrupted)
    result = run_cli(*args, "--db", str(kpi_warehouse_path))
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted" and "Traceback" not in result.output
