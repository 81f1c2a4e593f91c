"""`callscore score` and `callscore sql` end to end: real models, real audio, real DuckDB files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipeline.resources import default_scorecard_path
from tests.conftest import GOOD_CALL, MONO_CALL, POOR_CALL, WIDER_CRITERION, run_cli, silence


def _count(db: Path, query: str) -> int:
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(query).fetchone()[0]


def test_scoring_stores_each_calls_conversation_metrics(scored_samples: dict) -> None:
    with duckdb.connect(str(scored_samples["db"]), read_only=True) as connection:
        metrics = {row[0]: row[1:] for row in connection.execute(
            "SELECT file_name, speaker_separated, conversation_s, agent_talk_ratio, customer_talk_ratio,"
            " agent_interruptions, words_per_minute FROM kpi_calls").fetchall()}
    good = metrics["billing-good.mp3"]  # 69 s recording, agent talks most of it
    assert good[0] is True and 60 < good[1] < 69 and 0.5 < good[2] < 0.7 and 0.2 < good[3] < 0.35 and good[4] == 0
    assert 120 < good[5] < 230
    mono = metrics["address-change-mono.mp3"]
    assert mono[0] is False and mono[1] > 30 and mono[2] is None and mono[3] is None and mono[4] is None


def test_sample_calls_are_transcribed_scored_and_stored(scored_samples: dict) -> None:
    result, report, db = scored_samples["result"], scored_samples["report"], scored_samples["db"]
    assert result.exit_code == 0, result.stderr
    assert report["counts"]["scored"] == 3 and report["counts"]["failed"] == 0
    assert all(r["qa_score"] is not None and 0 <= r["qa_score"] <= 100 for r in report["recordings"])
    criteria = 12  # the default scorecard: nine LLM criteria and three rules
    assert _count(db, "SELECT count(*) FROM scores") == 3 * criteria
    assert _count(db, "SELECT count(*) FROM kpi_calls") == 3
    assert _count(db, "SELECT count(DISTINCT scorecard_version) FROM scores WHERE llm_model LIKE '%.gguf' AND whisper_model = 'tiny.en'") == 1
    assert _count(db, "SELECT count(*) FROM scores WHERE confidence NOT BETWEEN 0 AND 1") == 0
    with duckdb.connect(str(db), read_only=True) as connection:
        speakers = dict(connection.execute(
            "SELECT file_name, list(DISTINCT speaker ORDER BY speaker) FROM segments JOIN recordings USING (recording_id) GROUP BY file_name").fetchall())
        facts = connection.execute(
            "SELECT agent, team, call_id, started_at_source, metadata->>'queue' FROM recordings WHERE file_name = 'broadband-poor.mp3'").fetchone()
        run = connection.execute("SELECT status, files_seen, files_scored, files_failed, audio_s FROM runs").fetchone()
    assert speakers == {"billing-good.mp3": ["agent", "customer"], "broadband-poor.mp3": ["agent", "customer"],
                        "address-change-mono.mp3": ["unknown"]}
    assert facts == ("alex", "broadband", "NW-1002", "sidecar", "tech")
    assert run[:4] == ("completed", 3, 3, 0) and run[4] == pytest.approx(140, abs=3)


def test_a_second_run_does_no_work(scored_samples: dict, tmp_path: Path) -> None:
    db, inbox = scored_samples["db"], scored_samples["inbox"]
    before = {t: _count(db, f"SELECT count(*) FROM {t}") for t in ("transcripts", "segments", "evaluations", "scores")}
    renamed = tmp_path / "redelivered"
    renamed.mkdir()
    shutil.copy(GOOD_CALL, renamed / "same-call-new-name.mp3")  # same bytes, new name: already done

    result = run_cli("score", str(inbox), str(renamed), "--db", str(db), "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0
    assert report["counts"]["skipped"] == 4 and report["counts"]["scored"] == 0
    assert all(r["qa_score"] is not None for r in report["recordings"])  # stored results are reported
    assert {t: _count(db, f"SELECT count(*) FROM {t}") for t in before} == before


@pytest.mark.slow
def test_a_changed_scorecard_rescores_every_call_from_its_stored_transcript(
        tmp_path: Path, card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.processing.procedure import CallProcessor

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for call in (GOOD_CALL, MONO_CALL):
        shutil.copy(call, inbox)
    db = tmp_path / "w.duckdb"
    assert run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card)).exit_code == 0
    wider = tmp_path / "wider.yaml"
    wider.write_text(card.read_text() + WIDER_CRITERION)
    transcribed = []
    original = CallProcessor.transcribe_file
    monkeypatch.setattr(CallProcessor, "transcribe_file", lambda self, path, *facts: transcribed.append(path) or original(self, path, *facts))

    result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(wider), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["scored"] == 2
    assert transcribed == []  # both scored from their stored transcripts
    assert _count(db, "SELECT count(DISTINCT scorecard_version) FROM evaluations") == 2
    assert _count(db, "SELECT count(*) FROM transcripts") == 2
    assert _count(db, "SELECT count(*) FROM scores WHERE criterion_id = 'offered_help'") == 2


def test_summary_table_and_sql_for_people(scored_samples: dict) -> None:
    db = str(scored_samples["db"])
    result = run_cli("score", str(scored_samples["inbox"]), "--db", db)
    assert result.exit_code == 0
    assert "already done" in result.stdout and "billing-good.mp3" in result.stdout
    assert "\u2501" not in result.stderr  # no progress bar when output is not a terminal

    table = run_cli("sql", "SELECT criterion_id, answers FROM kpi_criteria ORDER BY criterion_id", "--db", db)
    assert table.exit_code == 0 and "verified_identity" in table.stdout
    rows = json.loads(run_cli("sql", "SELECT agent, calls FROM kpi_agents ORDER BY agent", "--db", db, "--format", "json").stdout)
    assert rows == [{"agent": "alex", "calls": 1}, {"agent": "priya", "calls": 1}, {"agent": "sam", "calls": 1}]
    csv_out = run_cli("sql", "SELECT 1 AS one", "--db", db, "--format", "csv").stdout
    assert csv_out.splitlines() == ["one", "1"]
    bad = run_cli("sql", "SELECT * FROM no_such_table", "--db", db)
    assert bad.exit_code == 2 and "query failed" in bad.stderr


@pytest.mark.slow
def test_bad_recordings_are_recorded_and_the_batch_goes_on(tmp_path: Path, write_call) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "nested").mkdir(parents=True)
    (inbox / "empty.mp3").write_bytes(b"")
    (inbox / "notes.mp3").write_text("Call back Mrs Smith on Tuesday.\n" * 50)
    data = GOOD_CALL.read_bytes()
    (inbox / "nested" / "cut-off.mp3").write_bytes(data[: len(data) // 3])
    write_call("inbox/silent.wav", silence(20.0) + np.float32(1e-4))
    write_call("inbox/one-second.mp3", silence(1.0))
    shutil.copy(POOR_CALL, inbox / "real call.mp3")
    (inbox / "real call.json").write_text('{"agent": "alex", "started_at": "2026-11-18T10:00:00Z"}')
    shutil.copy(MONO_CALL, inbox / "bad-sidecar.mp3")  # other bytes: not a copy of a done call
    (inbox / "bad-sidecar.json").write_text('{"agent": "alex", "started_at": "last tuesday"}')
    (inbox / "readme.txt").write_text("not audio, not picked up")
    db = tmp_path / "w.duckdb"

    result = run_cli("score", str(inbox), "--db", str(db), "--json")
    assert result.exit_code == 1  # some failed
    outcomes = {Path(r["path"]).name: r for r in json.loads(result.stdout)["recordings"]}
    assert set(outcomes) == {"empty.mp3", "notes.mp3", "cut-off.mp3", "silent.wav", "one-second.mp3", "real call.mp3", "bad-sidecar.mp3"}
    assert (outcomes["empty.mp3"]["status"], outcomes["empty.mp3"]["stage"]) == ("failed", "probe")
    assert (outcomes["notes.mp3"]["status"], outcomes["notes.mp3"]["stage"]) == ("failed", "probe")
    assert (outcomes["bad-sidecar.mp3"]["status"], outcomes["bad-sidecar.mp3"]["stage"]) == ("failed", "sidecar")
    assert "started_at" in outcomes["bad-sidecar.mp3"]["error"]
    assert outcomes["silent.wav"]["status"] == "no_speech"
    assert outcomes["one-second.mp3"]["status"] == "too_short"
    assert outcomes["cut-off.mp3"]["status"] == "scored" and outcomes["cut-off.mp3"]["flags"] == ["truncated"]
    assert outcomes["real call.mp3"]["status"] == "scored"

    with duckdb.connect(str(db), read_only=True) as connection:
        failures = connection.execute("SELECT path, stage, transient, message FROM failures ORDER BY path").fetchall()
        statuses = dict(connection.execute("SELECT r.file_name, e.status FROM evaluations e JOIN recordings r USING (recording_id)").fetchall())
        run = connection.execute("SELECT files_seen, files_scored, files_no_speech, files_failed FROM runs").fetchone()
    assert [(Path(p).name, stage, transient) for p, stage, transient, _ in failures] == [
        ("bad-sidecar.mp3", "sidecar", False), ("empty.mp3", "probe", False), ("notes.mp3", "probe", False)]
    assert all(message for *_, message in failures)
    assert statuses == {"silent.wav": "no_speech", "one-second.mp3": "too_short", "cut-off.mp3": "scored", "real call.mp3": "scored"}
    assert run == (7, 2, 2, 3)

    again = json.loads(run_cli("score", str(inbox), "--db", str(db), "--json").stdout)
    assert again["counts"]["skipped"] == 4 and again["counts"]["failed"] == 3  # failures are retried, never lost


def test_stderr_names_each_failure_in_plain_runs(tmp_path: Path) -> None:
    (tmp_path / "broken.mp3").write_bytes(b"\x00" * 100)
    result = run_cli("score", str(tmp_path / "broken.mp3"), "--db", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 1
    assert "broken.mp3" in result.stderr and "probe" in result.stderr
    assert "1 failed" in result.stdout


@pytest.mark.parametrize(
    ("extra_args", "env", "message"),
    [
        (["--llm-model", "/models/missing.gguf"], {}, "LLM model file /models/missing.gguf does not exist"),
        (["--whisper-model", "/models/no-such-dir"], {}, "neither a model directory nor a known model name"),
        (["--scorecard", "/nowhere/card.yaml"], {}, "cannot read scorecard /nowhere/card.yaml"),
        ([], {"CALLSCORE_LLM_CONTEXT": "many"}, "invalid setting llm_context (from environment)"),
    ],
)
def test_setup_errors_stop_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra_args: list[str], env: dict, message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(GOOD_CALL), "--db", str(db), *extra_args)
    assert result.exit_code == 2
    assert message in result.stderr.replace("\n", "")
    assert len(result.stderr.strip().splitlines()) == 1 or message in result.stderr.replace("\n", "")
    assert result.stdout == ""
    assert not db.exists()  # nothing was done


def test_invalid_scorecard_criterion_is_named(tmp_path: Path) -> None:
    card = tmp_path / "card.yaml"
    card.write_text(default_scorecard_path().read_text().replace("weight: 2\n    critical: true\n    allow_na", "weight: lots\n    critical: true\n    allow_na"))
    result = run_cli("score", str(GOOD_CALL), "--db", str(tmp_path / "w.duckdb"), "--scorecard", str(card))
    assert result.exit_code == 2
    assert "(verified_identity).weight" in result.stderr


def test_unwritable_database_path(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    result = run_cli("score", str(GOOD_CALL), "--db", str(blocker / "w.duckdb"))
    assert result.exit_code == 2 and "cannot create the directory for warehouse" in result.stderr


def test_missing_input_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("score", str(tmp_path / "no-such-folder"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_help_explains_the_command() -> None:
    result = run_cli("score", "--help")
    assert result.exit_code == 0
    for phrase in ("--db", "--scorecard", "--whisper-model", "--llm-model", "--device", "--json", "Exit codes"):
        assert phrase in result.stdout


def test_really_scored_calls_open_with_each_verdict_on_its_cited_line(scored_samples: dict, browser,
                                                                     tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    db = str(scored_samples["db"])
    shown = run_cli("show", "billing-good.mp3", "--db", db, "--json")
    assert shown.exit_code == 0, shown.stderr
    call = json.loads(shown.stdout)
    lines = {line["line"]: line for line in call["transcript"]}
    assert len(call["verdicts"]) == 12 and len(lines) >= 8  # the default scorecard; the call's turns
    cited = [v for v in call["verdicts"] if v["kind"] == "llm" and v["line"] is not None]
    for verdict in cited:  # the model's line numbers are the page's
        assert verdict["evidence"] == lines[verdict["line"]]["text"]
        assert verdict["start_s"] == pytest.approx(lines[verdict["line"]]["start_s"], abs=0.01)
    printed = run_cli("show", "billing-good.mp3", "--db", db).stdout
    assert all(f" {v['criterion_id']}" in printed for v in call["verdicts"])

    out = tmp_path / "report.html"
    assert run_cli("report", "--db", db, "--out", str(out)).exit_code == 0
    assert len(list((tmp_path / "report-calls").glob("*.html"))) == 3  # every call is listed somewhere
    browser.get((tmp_path / "report-calls" / f"{call['recording_id'][:16]}.html").as_uri())
    for verdict in cited:
        link = browser.find_element(By.CSS_SELECTOR, f"#criterion-{verdict['criterion_id']} a.line-link")
        target = browser.find_element(By.ID, link.get_attribute("href").split("#")[1])
        assert verdict["evidence"] in target.text and "evidence" in target.get_attribute("class")
