"""One deadline per request to the LLM server: a server that answers too slowly, byte by byte or
not at all, fails that recording as transient once the deadline passes, never holds it longer.
The servers here are stand-ins on loopback that misbehave on purpose (no model is needed)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from pipeline.errors import TransientRecordingError
from pipeline.scoring.openai_backend import OpenAIBackend

DEADLINE_S = 1.5
SLACK_S = 1.0  # what the test allows past the deadline: a thread switch, a busy machine


class _Misbehaving(BaseHTTPRequestHandler):
    """Lists one model; answers every POST as ``mode`` says: 'trickle' (one byte every 0.3 s,
    for ever), 'silent' (headers, then nothing), or 'mute' (not even headers)."""

    mode = "trickle"
    stop = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "stand-in"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("tokenize"):
            self.send_response(404)
            self.end_headers()
            return
        if self.mode != "mute":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
        while not self.stop.wait(0.3):
            if self.mode == "trickle":
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return


@pytest.fixture
def misbehaving() -> Iterator[tuple[str, type[_Misbehaving]]]:
    handler = type("Handler", (_Misbehaving,), {"stop": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    handler.stop.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["trickle", "silent", "mute"])
def test_a_request_ends_at_its_deadline_as_a_transient_failure(mode: str, misbehaving) -> None:
    url, handler = misbehaving
    handler.mode = mode
    backend = OpenAIBackend(url, timeout_s=DEADLINE_S)
    try:
        started = time.monotonic()
        with pytest.raises(TransientRecordingError, match=f"had not answered in full after {DEADLINE_S:g} s") as caught:
            backend.generate_json([{"role": "user", "content": "hi"}], {"type": "object"}, max_tokens=8)
        waited = time.monotonic() - started
    finally:
        backend.close()
    assert caught.value.stage == "score"
    assert DEADLINE_S - 0.1 <= waited <= DEADLINE_S + SLACK_S, waited
