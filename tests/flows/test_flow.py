"""The nightly Prefect flow against a real local Prefect server started here: a run over real
recordings, one bad file failing alone, transient faults retried, a killed run resumed without
duplicates, two process workers splitting an inbox, and `callscore flow serve` registering its
cron schedule."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
)
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

from flows.artifacts import ARTIFACT_CRITERIA, ARTIFACT_REPORT, ARTIFACT_SUMMARY
from flows.nightly import nightly, score_recordings
from flows.work import WorkItem, split
from pipeline.config import load_settings
from pipeline.processing.procedure import CallProcessor
from pipeline.errors import TransientRecordingError
from samples.synth import Turn, add_line_noise, lay_out, write_audio
from tests.conftest import GOOD_CALL, MONO_CALL, POOR_CALL, ROOT, WIDER_CRITERION, rows, run_cli

CALLSCORE = str(Path(sys.executable).with_name("callscore"))
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory):
    """`prefect server start` on a free port with its own home; yields the environment that
    points a process at it."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_SERVER_UI_ENABLED": "false"}
    log = open(home / "server.log", "w")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("prefect server did not start: " + (home / "server.log").read_text()[-2000:])
    yield env
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
    log.close()


@pytest.fixture
def prefect_env(prefect_server: dict, tmp_path: Path):
    """This test's settings: the shared server, and its own result storage (no cache from other tests)."""
    storage = tmp_path / "prefect-results"
    with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"], PREFECT_LOCAL_STORAGE_PATH: storage}):
        yield {**prefect_server, "PREFECT_LOCAL_STORAGE_PATH": str(storage)}



@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for call in (GOOD_CALL, POOR_CALL, MONO_CALL):
        shutil.copy(call, folder)
    return folder



def artifact(key: str):
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0] if found else None


def task_runs(flow_run_id, expected: int) -> dict[str, list]:
    """Task runs of a flow run and its subflows by name (task states reach the server as events,
    so wait until ``expected`` task runs are there)."""
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while True:
            children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])))
            ids = [flow_run_id] + [child.id for child in children]
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            if len(runs) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    by_name: dict[str, list] = {}
    for run in runs:
        by_name.setdefault(run.name, []).append(run)
    return by_name


def test_a_flow_run_scores_the_inbox_and_publishes_its_figures(prefect_env, inbox: Path, card: Path, tmp_path: Path) -> None:
    (inbox / "bad.mp3").write_bytes(os.urandom(4000))
    db = tmp_path / "w.duckdb"
    state = nightly(inbox=str(inbox), db=str(db), scorecard=str(card), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["counts"] == {"seen": 4, "scored": 3, "no_speech": 0, "too_short": 0, "skipped": 0, "failed": 1}

    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations WHERE status = 'scored'") == [(3, 3)]
    assert rows(db, "SELECT count(*) FROM scores") == [(6,)]
    assert rows(db, "SELECT count(*) FROM call_metrics") == [(3,)]
    assert rows(db, "SELECT stage, transient, path LIKE '%bad.mp3' FROM failures") == [("probe", False, True)]
    run = rows(db, "SELECT source, status, files_seen, files_scored, files_failed, audio_s, slowest_stage, stage_seconds FROM runs")[0]
    assert run[:5] == ("flow", "completed", 4, 3, 1)
    assert run[5] == pytest.approx(140.4, abs=1) and run[6] in ("transcribe", "score")
    assert set(json.loads(run[7])) >= {"transcribe", "score", "load"}

    # the bad file's transcription failed once and was not retried; the good ones completed
    tasks = task_runs(state.state_details.flow_run_id, expected=3 + 4 * 2)  # load, plan, load; 2 per file
    bad = tasks[f"transcribe {inbox / 'bad.mp3'}"][0]
    assert bad.state.is_failed() and bad.run_count == 1
    assert all(tasks[f"score {inbox / name}"][0].state.is_completed()
               for name in ("billing-good.mp3", "broadband-poor.mp3", "address-change-mono.mp3"))

    criteria = json.loads(artifact(ARTIFACT_CRITERIA).data)
    assert sorted(r["criterion"] for r in criteria) == ["greeted", "verified_identity"]
    assert all(r["answers"] == 3 for r in criteria)
    markdown = artifact(ARTIFACT_SUMMARY).data
    assert "| 4 | 3 | 0 | 0 | 1 | 0.04 h |" in markdown and "bad.mp3" in markdown
    report = Path(summary["report"])
    assert report.is_file() and report.as_uri() in artifact(ARTIFACT_REPORT).data

    again = nightly(inbox=str(inbox), db=str(db), scorecard=str(card))  # nothing new: nothing redone
    assert again["counts"]["skipped"] == 3 and again["counts"]["scored"] == 0
    assert rows(db, "SELECT count(*) FROM evaluations") == [(3,)]


def test_a_transient_failure_is_retried_and_then_succeeds(prefect_env, inbox: Path, card: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    original, calls = CallProcessor.transcribe_file, []

    def out_of_memory_once(self, path, *facts):
        calls.append(path.name)
        if path.name == "broadband-poor.mp3" and calls.count(path.name) == 1:
            raise TransientRecordingError("CUDA out of memory", stage="transcribe")
        return original(self, path, *facts)

    monkeypatch.setattr(CallProcessor, "transcribe_file", out_of_memory_once)
    db = tmp_path / "w.duckdb"
    state = nightly(inbox=str(inbox), db=str(db), scorecard=str(card), retry_delay_s=0.1, return_state=True)
    assert state.is_completed() and state.result()["counts"]["scored"] == 3
    assert calls.count("broadband-poor.mp3") == 2
    retried = task_runs(state.state_details.flow_run_id, expected=3 + 3 * 2)[f"transcribe {inbox / 'broadband-poor.mp3'}"][0]
    assert retried.run_count == 2 and retried.state.is_completed()
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]


def _run_until_a_call_is_staged(command: list[str], env: dict, staging: Path) -> subprocess.Popen:
    """``command`` started in a session of its own, returned once its first call is staged."""
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(staging.glob("*.json")):
        assert run.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    return run


def test_a_killed_run_started_again_finishes_the_rest_without_duplicates(prefect_env, inbox: Path, card: Path,
                                                                        tmp_path: Path) -> None:
    db, staging = tmp_path / "w.duckdb", tmp_path / "w.duckdb.staging"
    command = [CALLSCORE, "flow", "run", "--inbox", str(inbox), "--db", str(db), "--scorecard", str(card)]
    first = _run_until_a_call_is_staged(command, prefect_env, staging)
    os.killpg(first.pid, signal.SIGKILL)  # as a power cut would
    first.wait()
    staged = [json.loads(p.read_text())["record"] for p in staging.glob("*.json")]
    assert 1 <= len(staged) <= 3 and rows(db, "SELECT count(*) FROM evaluations") == [(0,)]
    first_run = {r["key"]["recording_id"]: r["run_id"] for r in staged}

    second = subprocess.run(command + ["--json"], env=prefect_env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads(second.stdout)
    assert summary["counts"]["failed"] == 0
    evaluations = dict(rows(db, "SELECT recording_id, run_id FROM evaluations"))
    assert len(evaluations) == 3 and rows(db, "SELECT count(*) FROM evaluations") == [(3,)]
    for recording_id, run_id in first_run.items():  # finished before the kill: loaded, not redone
        assert evaluations[recording_id] == run_id
    assert all(run_id == summary["run_id"] for rid, run_id in evaluations.items() if rid not in first_run)
    assert rows(db, "SELECT status FROM runs ORDER BY started_at") == [("aborted",), ("completed",)]
    assert not list(staging.glob("*.json"))


def test_sigterm_stops_a_run_within_seconds_keeping_its_finished_calls(prefect_env, inbox: Path, card: Path,
                                                                        tmp_path: Path) -> None:
    """SIGTERM (a supervisor stopping the service) while a call is being transcribed or scored."""
    db, staging = tmp_path / "w.duckdb", tmp_path / "w.duckdb.staging"
    command = [CALLSCORE, "flow", "run", "--inbox", str(inbox), "--db", str(db), "--scorecard", str(card)]
    first = _run_until_a_call_is_staged(command, prefect_env, staging)
    asked = time.monotonic()
    first.send_signal(signal.SIGTERM)
    try:
        first.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        pytest.fail("the run was still going 5 s after SIGTERM")
    stopped_s = time.monotonic() - asked
    staged = {json.loads(p.read_text())["record"]["key"]["recording_id"] for p in staging.glob("*.json")}
    assert 1 <= len(staged) <= 2, stopped_s  # what was finished is kept; what was not is left for the next run

    second = subprocess.run(command + ["--json"], env=prefect_env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads(second.stdout)["counts"]["failed"] == 0
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
    assert staged <= {rid for (rid,) in rows(db, "SELECT recording_id FROM evaluations")}


def test_a_run_killed_inside_the_load_is_finished_by_the_next_without_duplicates(prefect_env, inbox: Path, card: Path,
                                                                                 tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    staging = Path(f"{db}.staging")
    args = ["flow", "run", "--inbox", str(inbox), "--db", str(db), "--scorecard", str(card)]
    # SIGKILL inside the second staged result's warehouse transaction, before its COMMIT
    killed = subprocess.run([sys.executable, "-m", "tests.kill_switch", "store", "2", *args], cwd=ROOT,
                            env=prefect_env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert len(list(staging.glob("*.json"))) == 2  # the loaded one is gone, the other two wait
    assert rows(db, "SELECT count(*) FROM evaluations") == [(1,)]
    assert rows(db, "SELECT count(*) FROM recordings") == [(1,)]  # nothing of the interrupted one

    again = subprocess.run([CALLSCORE, *args, "--json"], env=prefect_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
    assert rows(db, "SELECT count(*) FROM scores") == [(6,)]
    assert rows(db, "SELECT status FROM runs ORDER BY started_at") == [("aborted",), ("completed",)]
    assert not list(staging.glob("*.json"))


def test_a_changed_scorecard_rescores_every_call_from_its_stored_transcript(
        prefect_env, inbox: Path, card: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "w.duckdb"
    first = nightly(inbox=str(inbox), db=str(db), scorecard=str(card))
    assert first["counts"]["scored"] == 3
    wider = tmp_path / "wider.yaml"
    wider.write_text(card.read_text() + WIDER_CRITERION)
    transcribed = []
    original = CallProcessor.transcribe_file
    monkeypatch.setattr(CallProcessor, "transcribe_file", lambda self, path, *facts: transcribed.append(path) or original(self, path, *facts))

    second = nightly(inbox=str(inbox), db=str(db), scorecard=str(wider))
    assert second["counts"] == {"seen": 3, "scored": 3, "no_speech": 0, "too_short": 0, "skipped": 0, "failed": 0}
    assert transcribed == []  # every call scored from its stored transcript
    assert rows(db, "SELECT count(*), count(DISTINCT scorecard_version) FROM evaluations") == [(6, 2)]
    assert rows(db, "SELECT count(*) FROM transcripts") == [(3,)]
    assert rows(db, "SELECT count(*) FROM scores WHERE criterion_id = 'offered_help'") == [(3,)]
    staging = Path(f"{db}.staging")
    assert not list(staging.glob("*.json")) and not list((staging / "transcripts").glob("*"))  # nothing stuck
    third = nightly(inbox=str(inbox), db=str(db), scorecard=str(wider))
    assert third["counts"]["skipped"] == 3 and third["counts"]["failed"] == 0


def test_a_worker_with_other_models_than_the_planner_stores_nothing_under_the_run(
        prefect_env, inbox: Path, card: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(card.read_text() + WIDER_CRITERION)
    planned = CallProcessor(load_settings({"scorecard": str(card)})).evaluation_key("0" * 64)
    item = WorkItem(path=str(inbox / GOOD_CALL.name), recording_id="0" * 64, size_bytes=1, mtime_ns=0,
                    whisper_model=planned.whisper_model, scorecard_version=planned.scorecard_version,
                    prompt_version=planned.prompt_version, llm_model=planned.llm_model)
    staging = tmp_path / "staging"
    counts = score_recordings([item], str(staging), "run-1", {"scorecard": str(other)}, 0.1)
    assert counts == {"staged": 0, "failed": 1}
    failure = json.loads(next(staging.glob("*.json")).read_text())["failure"]
    assert failure["stage"] == "plan" and "scorecard_version" in failure["message"] and not failure["transient"]


def _synthetic_call(path: Path) -> Path:
    channels, _ = lay_out([Turn("agent", "Northwind Energy, this is Sam, how can I help?"),
                           Turn("customer", "Hi, I would like to pay my bill please.")], 16_000)
    write_audio(path, add_line_noise(channels), 16_000)
    return path


def test_two_workers_on_one_inbox_score_every_recording_once(prefect_env, inbox: Path, card: Path, tmp_path: Path) -> None:
    _synthetic_call(inbox / "payment.mp3")
    env = {**prefect_env, "CALLSCORE_HOME": str(ROOT), "PREFECT_WORKER_QUERY_SECONDS": "1"}
    subprocess.run([PREFECT, "work-pool", "create", "callscore", "--type", "process", "--overwrite"],
                   env=env, check=True, capture_output=True, timeout=60)
    deploy = subprocess.run([PREFECT, "--no-prompt", "deploy", "--name", "shard"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert deploy.returncode == 0, deploy.stdout[-2000:] + deploy.stderr[-2000:]
    workers = [
        subprocess.Popen([PREFECT, "worker", "start", "--pool", "callscore", "--limit", "1", "--name", name],
                         env={**env, "CALLSCORE_WORKER": name, "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / name)},
                         stdout=open(tmp_path / f"{name}.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
        for name in ("worker-a", "worker-b")
    ]
    try:
        db = tmp_path / "w.duckdb"
        summary = nightly(inbox=str(inbox), db=str(db), scorecard=str(card), shards=2,
                          shard_deployment="callscore-score-recordings/shard", shard_timeout_s=300)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:  # a worker still tearing down its last shard's process gets a minute
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    logs = "".join((tmp_path / f"{n}.log").read_text()[-1500:] for n in ("worker-a", "worker-b"))
    assert summary["counts"]["scored"] == 4, logs
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(4, 4)]
    assert {w for (w,) in rows(db, "SELECT DISTINCT worker FROM evaluations")} == {"worker-a", "worker-b"}, logs
    # task results went to the staging folder every worker shares, none to a worker's own storage
    assert len(list((Path(f"{db}.staging") / ".results").iterdir())) >= 8, logs  # a transcript and a score each
    assert not [p for name in ("worker-a", "worker-b") for p in (tmp_path / name).rglob("*") if p.is_file()]


def test_split_balances_bytes_and_never_makes_empty_shards() -> None:
    items = [WorkItem(path=f"/{n}", recording_id=str(n), size_bytes=size, mtime_ns=0, whisper_model="w",
                      scorecard_version="s", prompt_version="p", llm_model="l")
             for n, size in enumerate([90, 50, 40, 10])]
    shards = split(items, 2)
    assert sorted(sum(i.size_bytes for i in shard) for shard in shards) == [90, 100]
    assert len(split(items[:1], 4)) == 1 and split([], 3) == []


def test_serve_registers_the_nightly_deployment_on_its_cron_schedule(prefect_env, inbox: Path, tmp_path: Path) -> None:
    server = subprocess.Popen([CALLSCORE, "flow", "serve", "--inbox", str(inbox), "--db", str(tmp_path / "w.duckdb"),
                               "--cron", "30 1 * * *", "--timezone", "Europe/London"],
                              env=prefect_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deployment, deadline = None, time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while deployment is None and time.monotonic() < deadline:
                try:
                    deployment = client.read_deployment_by_name("callscore-nightly/nightly")
                except Exception:
                    time.sleep(1)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert deployment is not None
    schedule = deployment.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("30 1 * * *", "Europe/London")
    assert deployment.parameters["inbox"] == str(inbox.resolve())


def test_flow_commands_reject_bad_input_with_one_line(tmp_path: Path, inbox: Path) -> None:
    bad_cron = run_cli("flow", "serve", "--inbox", str(inbox), "--cron", "every night")
    assert bad_cron.exit_code == 2 and "not a cron expression" in bad_cron.stderr
    bad_zone = run_cli("flow", "serve", "--inbox", str(inbox), "--timezone", "Mars/Olympus")
    assert bad_zone.exit_code == 2 and "unknown time zone" in bad_zone.stderr
    no_inbox = run_cli("flow", "run", "--inbox", str(tmp_path / "missing"))
    assert no_inbox.exit_code == 2 and "does not exist" in no_inbox.stderr


def test_a_file_name_that_is_not_utf8_is_scored_by_the_flow_with_the_rest_of_the_inbox(tmp_path: Path,
                                                                                      card: Path) -> None:
    """Through `callscore flow run` on its temporary server (no PREFECT_API_URL): the odd name
    failed every night before any transcription; the temporary server sends no telemetry."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(MONO_CALL, inbox / os.fsdecode(b"a_bad_\xff\xfe.mp3"))
    shutil.copy(GOOD_CALL, inbox / "good.mp3")
    db = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    done = subprocess.run([CALLSCORE, "flow", "run", "--inbox", str(inbox), "--db", str(db), "--scorecard", str(card),
                           "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["counts"]["scored"] == 2
    assert rows(db, "SELECT file_name FROM recordings ORDER BY file_name") == [("a_bad_\\xff\\xfe.mp3",), ("good.mp3",)]
    assert rows(db, "SELECT status FROM runs") == [("completed",)]
    assert "telemetry" not in done.stderr.lower()
