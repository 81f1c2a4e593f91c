"""What the inbox may hold that is not a recording, and sidecars that are not what they should
be: each gets a defined outcome, and none can hang a run."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest

from pipeline.errors import PermanentRecordingError
from pipeline.intake.inbox import SIDECAR_MAX_BYTES, discover, file_identity, read_call_facts
from tests.conftest import MONO_CALL, run_cli


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A test here that blocks (the fault it guards against) fails after 60 s instead of hanging."""
    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("blocked for 60 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def odd_inbox(tmp_path: Path) -> Path:
    """An inbox with one real call and, under audio names, a FIFO, a link to /dev/zero, a socket."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "call.mp3").write_bytes(MONO_CALL.read_bytes())
    (inbox / "linked.mp3").symlink_to(inbox / "call.mp3")
    os.mkfifo(inbox / "fifo.mp3")
    (inbox / "zero.mp3").symlink_to("/dev/zero")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(inbox / "socket.wav"))
    listener.close()
    return inbox


def test_only_regular_files_are_recordings_and_the_others_are_logged(odd_inbox: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.intake.inbox"):
        found = discover([odd_inbox])
    assert [p.name for p in found] == ["call.mp3", "linked.mp3"]
    logged = caplog.text
    assert "fifo.mp3: not a regular file (a FIFO)" in logged
    assert "zero.mp3: not a regular file (a character device)" in logged
    assert "socket.wav: not a regular file (a socket)" in logged
    assert discover([odd_inbox / "fifo.mp3"]) == []  # given by name, too


def test_a_fifo_swapped_in_after_discovery_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "late.mp3"
    os.mkfifo(fifo)  # nobody will ever write to it: an open that waited would block forever
    with pytest.raises(PermanentRecordingError, match="not a regular file \\(a FIFO\\)"):
        file_identity(fifo)
    with pytest.raises(PermanentRecordingError, match="not a regular file"):
        file_identity(Path("/dev/zero"))


def _sidecar(tmp_path: Path, content: str | bytes) -> Path:
    audio = tmp_path / "call.mp3"
    audio.write_bytes(b"audio")
    sidecar = audio.with_suffix(".json")
    sidecar.write_bytes(content.encode() if isinstance(content, str) else content)
    return audio


@pytest.mark.parametrize("started_at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                                        "2100-01-01T00:00:00Z", "9999-12-31T23:59:59"])
def test_a_start_time_out_of_any_call_s_range_is_refused(tmp_path: Path, started_at: str) -> None:
    audio = _sidecar(tmp_path, json.dumps({"agent": "sam", "started_at": started_at}))
    with pytest.raises(PermanentRecordingError, match="started_at: .*must be between 1970 and 2100") as caught:
        read_call_facts(audio)
    assert caught.value.stage == "sidecar"


def test_a_plausible_start_time_is_kept_in_utc_terms(tmp_path: Path) -> None:
    audio = _sidecar(tmp_path, json.dumps({"started_at": "2026-11-18T10:00:00+03:00"}))
    assert read_call_facts(audio).started_at == datetime(2026, 11, 18, 7, tzinfo=timezone.utc)


def test_an_oversized_or_deeply_nested_sidecar_is_refused(tmp_path: Path) -> None:
    big = json.dumps({"agent": "sam", "notes": "x" * SIDECAR_MAX_BYTES})
    with pytest.raises(PermanentRecordingError, match="is over 64 KiB"):
        read_call_facts(_sidecar(tmp_path, big))
    deep = '{"agent": ' + "[" * 30_000 + "]" * 30_000 + "}"  # within the size limit, too deep to parse
    with pytest.raises(PermanentRecordingError, match="not valid JSON"):
        read_call_facts(_sidecar(tmp_path, deep))


def test_a_fifo_as_sidecar_is_refused_without_waiting(tmp_path: Path) -> None:
    audio = tmp_path / "call.mp3"
    audio.write_bytes(b"audio")
    os.mkfifo(audio.with_suffix(".json"))
    with pytest.raises(PermanentRecordingError, match="cannot read sidecar call.json: not a regular file"):
        read_call_facts(audio)


def test_a_file_time_out_of_range_asks_for_a_sidecar(tmp_path: Path) -> None:
    audio = tmp_path / "call.mp3"
    audio.write_bytes(b"audio")
    far = datetime(2200, 1, 1, tzinfo=timezone.utc).timestamp()
    os.utime(audio, (far, far))
    with pytest.raises(PermanentRecordingError, match="modification time .* give the call's start as started_at"):
        read_call_facts(audio)


def test_a_run_over_an_inbox_of_odd_entries_finishes_and_prints_names_as_text(odd_inbox: Path,
                                                                              tmp_path: Path) -> None:
    """No model is needed: the odd entries are skipped and the two broken files fail at decode."""
    (odd_inbox / "call.mp3").unlink()
    (odd_inbox / "calls[").mkdir()  # the path holds '[/x]', a closing tag rich would choke on
    (odd_inbox / "calls[" / "x]bad[bold]name.mp3").write_bytes(b"not audio at all" * 100)
    (odd_inbox / "\x1b]0;owned\x07\x1b[31mred.mp3").write_bytes(b"not audio either" * 100)
    result = run_cli("score", str(odd_inbox), "--db", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 1, result.stderr  # the two broken files failed; the run finished
    assert "skipped" in result.stderr and "fifo.mp3" in result.stderr and "zero.mp3" in result.stderr
    assert "calls[/x]bad[bold]name.mp3" in result.stderr and "calls[/x]bad[bold]name.mp3" in result.stdout
    assert "red.mp3" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr
    assert "MarkupError" not in result.stderr


def test_a_sidecar_may_give_its_call_s_agent_channel_and_language(tmp_path: Path) -> None:
    facts = read_call_facts(_sidecar(tmp_path, json.dumps({"agent": "ivan", "agent_channel": "right", "language": "RU"})))
    assert (facts.agent_channel, facts.language) == ("right", "ru")
    assert facts.metadata == {"agent_channel": "right", "language": "ru"}  # kept in recordings.metadata too
    assert (read_call_facts(_sidecar(tmp_path, "{}")).agent_channel, read_call_facts(_sidecar(tmp_path, "{}")).language) \
        == (None, None)


@pytest.mark.parametrize(("sidecar", "message"), [
    ({"agent_channel": "middle"}, "agent_channel: Input should be 'left' or 'right'"),
    ({"language": "Russian"}, "language: Value error, 'Russian' is not a language code"),
])
def test_a_bad_channel_or_language_in_a_sidecar_fails_that_call_at_the_sidecar(tmp_path: Path, sidecar: dict,
                                                                              message: str) -> None:
    with pytest.raises(PermanentRecordingError, match=message) as caught:
        read_call_facts(_sidecar(tmp_path, json.dumps(sidecar)))
    assert caught.value.stage == "sidecar"


def test_a_sidecar_with_a_byte_order_mark_or_an_upper_case_channel_is_read(tmp_path: Path) -> None:
    facts = read_call_facts(_sidecar(tmp_path, b"\xef\xbb\xbf" + json.dumps({"agent": "sam"}).encode()))
    assert facts.agent == "sam"  # as Windows tools write UTF-8
    facts = read_call_facts(_sidecar(tmp_path, json.dumps({"agent_channel": " RIGHT ", "language": "EN"})))
    assert (facts.agent_channel, facts.language) == ("right", "en")


@pytest.mark.parametrize("content", ['{"agent": "sam", "score": NaN}', '{"agent": "sam", "score": Infinity}',
                                     '{"agent": "sam", "score": 1e999}', '{"agent": "sam", "score": -1e999}'])
def test_a_sidecar_number_json_cannot_hold_fails_at_the_sidecar(tmp_path: Path, content: str) -> None:
    with pytest.raises(PermanentRecordingError, match="sidecar call.json is not valid JSON") as caught:
        read_call_facts(_sidecar(tmp_path, content))
    assert caught.value.stage == "sidecar"
