"""llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) on a free loopback
port, for the benchmark's ``llm_concurrency`` rows and the shared-server backend's tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

START_S = 120.0  # loading a 135M model takes a few seconds; a busy machine, more


def free_port() -> int:
    """A loopback TCP port nobody listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_llm_server(model: Path, log_path: Path, *extra: str,
                     api_key: str | None = None) -> tuple[subprocess.Popen, str]:
    """The server on ``model``, its output in ``log_path``: (process, OpenAI base URL) once it
    lists its models. ``extra``: more server arguments. RuntimeError with the log's end if it
    does not start within ``START_S``."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", *extra]
    process = subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base_url}/models", headers=headers, timeout=2.0).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop_llm_server(process)
    raise RuntimeError(f"llama_cpp.server did not start: {log_path.read_text(errors='replace')[-2000:]}")


def stop_llm_server(process: subprocess.Popen) -> None:
    """Terminate the server (killed if it has not ended 10 s later); nothing if it already ended."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
