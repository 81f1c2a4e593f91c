"""Faults injected into real runs (real models, audio and DuckDB files), and odd input: each has
a defined outcome, a clear message, and leaves no partial rows. Faults are injected only where
a library cannot be made to fail on demand; the disk-full case fills a real (tmpfs) disk."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import pytest

import pipeline.processing.batch
import pipeline.processing.procedure
import pipeline.processing.retries
from pipeline.processing.batch import run_batch
from pipeline.processing.procedure import CallProcessor
from pipeline.config import load_settings
from pipeline.scoring.llama_backend import LlamaBackend
from pipeline.store.warehouse import Warehouse
from samples.synth import Turn, add_line_noise, lay_out, write_audio
from tests.conftest import MONO_CALL, ROOT, rows, run_cli

TABLES = ("recordings", "transcripts", "segments", "call_metrics", "evaluations", "scores")



@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline.processing.retries, "FIRST_DELAY_S", 0.05)



def rows_of(db: Path, recording_id: str) -> dict[str, int]:
    return {t: rows(db, f"SELECT count(*) FROM {t} WHERE recording_id = ?", [recording_id])[0][0] for t in TABLES}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def short_call(path: Path, text: str = "Northwind Energy, this is Sam, how can I help?") -> Path:
    channels, _ = lay_out([Turn("agent", text), Turn("customer", "Hi, I would like to pay my bill please.")], 16_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, add_line_noise(channels), 16_000)
    return path


# -- the scoring backend fails ---------------------------------------------------------------------


def _fail_first_ask(monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[int]:
    """The model's first answer (a form, or a statement in the statement style) raises ``error``;
    the rest are the real model's. Returns the list that counts the asks."""
    calls: list[int] = []
    for name in ("fill_form", "read_statement"):
        original = getattr(LlamaBackend, name)

        def failing_once(self, *args, _original=original, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise error
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(LlamaBackend, name, failing_once)
    return calls


@pytest.mark.slow
def test_a_transient_backend_error_is_retried_within_the_run(tmp_path: Path, card: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fail_first_ask(monkeypatch, RuntimeError("CUDA error: out of memory"))
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(short_call(tmp_path / "in" / "a.mp3")), "--db", str(db), "--scorecard", str(card))
    assert result.exit_code == 0, result.stderr
    assert "out of memory; trying again" in result.stderr
    assert len(calls) >= 2  # the failed ask, then the call's asks again
    assert rows(db, "SELECT count(*) FROM evaluations WHERE status = 'scored'") == [(1,)]
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]


@pytest.mark.slow
def test_a_permanent_backend_error_fails_that_call_alone_and_leaves_no_rows(tmp_path: Path, card: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    broken = short_call(inbox / "a-broken.mp3")
    short_call(inbox / "b-fine.mp3", "Hello, Northwind Energy.")
    _fail_first_ask(monkeypatch, ValueError("llama_decode returned -3"))  # the first ask is a-broken.mp3's
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 1
    outcomes = {Path(r["path"]).name: r for r in json.loads(result.stdout)["recordings"]}
    assert (outcomes["a-broken.mp3"]["status"], outcomes["a-broken.mp3"]["stage"]) == ("failed", "score")
    assert "llama_decode returned -3" in outcomes["a-broken.mp3"]["error"]
    assert outcomes["b-fine.mp3"]["status"] == "scored"
    assert rows_of(db, sha256(broken)) == dict.fromkeys(TABLES, 0)  # nothing of it stored
    assert rows(db, "SELECT stage, transient, error_type FROM failures") == [("score", False, "ValueError")]

    monkeypatch.undo()  # the real model again
    again = json.loads(run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json").stdout)
    assert again["counts"] == {**again["counts"], "scored": 1, "skipped": 1, "failed": 0}
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(2, 2)]
    stored = rows_of(db, sha256(broken))
    assert (stored["evaluations"], stored["scores"]) == (1, 2)


# -- the disk fills up -----------------------------------------------------------------------------

DISK_FULL_DRIVER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from pipeline.cli import main

    folder, inbox, card = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    filler = folder / "filler"

    import pipeline.processing.batch
    original = pipeline.processing.batch.process_recording
    def process(processor, path, warehouse, **kw):
        if path.name.startswith("b"):  # the first call is stored: now the disk fills up
            with open(filler, "wb", buffering=0) as f:  # unbuffered: closing it cannot fail again
                try:
                    while True:
                        f.write(b"\\0" * 65536); f.flush()
                except OSError:
                    pass
        return original(processor, path, warehouse, **kw)
    pipeline.processing.batch.process_recording = process
    main(["score", inbox, "--db", str(folder / "w.duckdb"), "--scorecard", card], prog_name="callscore")
""")


@pytest.mark.slow
def test_a_full_disk_stops_the_run_with_exit_3_and_keeps_the_calls_stored_before(tmp_path: Path, card: Path) -> None:
    inbox = tmp_path / "inbox"
    short_call(inbox / "a.mp3")
    short_call(inbox / "b.mp3", "Hello, Northwind Energy, Priya speaking.")
    disk = tmp_path / "disk"
    disk.mkdir()
    # a 24 MiB disk of its own (tmpfs), mounted in a private mount namespace
    script = (f"mount -t tmpfs -o size=24m tmpfs {disk} && {sys.executable} -c \"$DRIVER\" {disk} {inbox} {card};"
              f" code=$?; rm -f {disk}/filler; cp {disk}/w.duckdb* {tmp_path}/ 2>/dev/null; exit $code")
    full = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script], cwd=ROOT,
                          env={**os.environ, "DRIVER": DISK_FULL_DRIVER}, capture_output=True, text=True, timeout=300)
    assert full.returncode == 3, full.stderr[-3000:]
    assert "No space left on device" in full.stderr and "recordings stored before are kept" in full.stderr
    assert "Traceback" not in full.stderr

    db = tmp_path / "w.duckdb"  # the warehouse as the full disk left it, now with room again
    first = rows_of(db, sha256(inbox / "a.mp3"))
    assert (first["recordings"], first["evaluations"], first["scores"]) == (1, 1, 2) and first["segments"] > 0
    assert rows_of(db, sha256(inbox / "b.mp3")) == dict.fromkeys(TABLES, 0)
    again = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["counts"]["scored"] == 1
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(2, 2)]


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["transcription", "progress"])
def test_a_full_disk_under_any_layer_exits_3_with_one_line(tmp_path: Path, card: Path, layer: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC raised by a library writing a temporary file (inside a recording's processing) or by
    the CLI's own reporting (outside it) stops the run as a full warehouse disk does."""
    inbox = tmp_path / "inbox"
    short_call(inbox / "a.mp3")
    short_call(inbox / "b.mp3", "Hello, Northwind Energy, Priya speaking.")
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "scratch"))
    if layer == "transcription":
        original = CallProcessor.transcribe_file

        def transcribe_file(self, path, *facts):
            if path.name == "b.mp3":
                raise full
            return original(self, path, *facts)

        monkeypatch.setattr(CallProcessor, "transcribe_file", transcribe_file)
    else:
        original_run = pipeline.processing.batch.process_recording

        def process(processor, path, warehouse, **kwargs):
            if path.name == "b.mp3":
                raise full  # outside the per-recording error handling
            return original_run(processor, path, warehouse, **kwargs)

        monkeypatch.setattr(pipeline.processing.batch, "process_recording", process)
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card))
    assert result.exit_code == 3, result.stderr
    assert "no room left on the disk" in result.stderr and "recordings stored before are kept" in result.stderr
    assert "Traceback" not in result.stderr
    assert rows(db, "SELECT file_name FROM recordings") == [("a.mp3",)]
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]  # not b.mp3's fault: nothing recorded against it


# -- the file moves under our feet -----------------------------------------------------------------


@pytest.mark.slow
def test_a_file_that_disappears_after_discovery_fails_at_read(tmp_path: Path, card: Path) -> None:
    inbox = tmp_path / "inbox"
    gone, kept = short_call(inbox / "a-gone.mp3"), short_call(inbox / "b-kept.mp3")
    db = tmp_path / "w.duckdb"
    processor = CallProcessor(load_settings({"db": db, "scorecard": card}))
    with Warehouse.open(db) as warehouse:
        summary = run_batch([inbox], processor, warehouse,
                            on_file=lambda path: path.unlink() if path == gone else None)
    failed = {o.path.name: o for o in summary.failed}
    assert list(failed) == ["a-gone.mp3"] and failed["a-gone.mp3"].stage == "read"
    assert "No such file or directory" in failed["a-gone.mp3"].error
    assert summary.count("scored") == 1 and kept.exists()
    assert rows(db, "SELECT stage, transient FROM failures") == [("read", False)]


@pytest.mark.slow
def test_a_file_that_changes_while_processed_is_done_again_from_its_new_bytes(
        tmp_path: Path, card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = short_call(tmp_path / "inbox" / "growing.wav")
    first_bytes = sha256(path)
    original, reads = pipeline.processing.procedure.read_call_facts, []

    def still_being_written(audio_path):  # runs after hashing, before decoding
        reads.append(audio_path)
        if len(reads) == 1:
            with open(audio_path, "ab") as handle:
                handle.write(b"\0" * 32000)
        return original(audio_path)

    monkeypatch.setattr(pipeline.processing.procedure, "read_call_facts", still_being_written)
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(path), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 0, result.stderr
    assert "the file changed while it was being processed" in result.stderr  # first try given up, second one stored
    assert rows(db, "SELECT recording_id FROM evaluations") == [(sha256(path),)] and sha256(path) != first_bytes
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]


@pytest.mark.slow
def test_a_file_that_keeps_changing_fails_as_transient_and_stores_nothing(
        tmp_path: Path, card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = short_call(tmp_path / "inbox" / "growing.wav")
    original = pipeline.processing.procedure.read_call_facts

    def always_growing(audio_path):
        with open(audio_path, "ab") as handle:
            handle.write(b"\0" * 3200)
        return original(audio_path)

    monkeypatch.setattr(pipeline.processing.procedure, "read_call_facts", always_growing)
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(path), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 1
    assert rows(db, "SELECT stage, transient FROM failures") == [("read", True)]
    assert rows(db, "SELECT count(*) FROM evaluations") == [(0,)]


# -- odd input -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_odd_files_and_paths_each_get_a_defined_outcome(tmp_path: Path, card: Path) -> None:
    inbox = tmp_path / "inbox"
    odd = inbox / "Ümlaut calls" / "Anruf Müller – 1.mp3"
    short_call(odd)
    wav_as_mp3 = inbox / "really-a-wav.mp3"
    short_call(tmp_path / "x.wav").rename(wav_as_mp3)
    with wave.open(str(inbox / "zero-seconds.wav"), "wb") as empty:  # a valid header, no samples
        empty.setnchannels(2), empty.setsampwidth(2), empty.setframerate(16_000)
    (inbox / "loop").symlink_to(inbox, target_is_directory=True)  # a folder that contains itself
    (inbox / "ping.mp3").symlink_to(inbox / "pong.mp3")
    (inbox / "pong.mp3").symlink_to(inbox / "ping.mp3")  # a symlink loop
    shutil.copy(MONO_CALL, inbox / "typed-sidecar.mp3")
    (inbox / "typed-sidecar.json").write_text('{"agent": ["sam", "alex"], "started_at": "2026-11-18T10:00:00Z"}')
    db = tmp_path / "w.duckdb"

    result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 1
    outcomes = {str(Path(r["path"]).relative_to(inbox)): r for r in json.loads(result.stdout)["recordings"]}
    assert set(outcomes) == {"Ümlaut calls/Anruf Müller – 1.mp3", "really-a-wav.mp3", "zero-seconds.wav",
                             "ping.mp3", "pong.mp3", "typed-sidecar.mp3"}  # nothing found twice through 'loop'
    assert outcomes["Ümlaut calls/Anruf Müller – 1.mp3"]["status"] == "scored"
    assert outcomes["really-a-wav.mp3"]["status"] == "scored"
    assert outcomes["zero-seconds.wav"]["status"] == "too_short"
    for name in ("ping.mp3", "pong.mp3"):
        assert (outcomes[name]["status"], outcomes[name]["stage"]) == ("failed", "read")
        assert "symbolic links" in outcomes[name]["error"]
    assert (outcomes["typed-sidecar.mp3"]["status"], outcomes["typed-sidecar.mp3"]["stage"]) == ("failed", "sidecar")
    assert "agent" in outcomes["typed-sidecar.mp3"]["error"]

    stored = dict(rows(db, "SELECT file_name, container FROM recordings"))
    assert stored["Anruf Müller – 1.mp3"] == "mp3" and stored["really-a-wav.mp3"] == "wav"
    assert rows(db, "SELECT path FROM recordings WHERE file_name = 'Anruf Müller – 1.mp3'") == [(str(odd),)]
