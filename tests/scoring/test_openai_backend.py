"""The shared-server LLM backend against a real OpenAI-compatible server: llama-cpp-python's own
(``python -m llama_cpp.server``) running the embedded SmolLM2 on loopback. Faults are real too:
a port nobody listens on, and the server killed in the middle of a batch."""

from __future__ import annotations

import json
import math
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from bench.llm_server import free_port, start_llm_server, stop_llm_server
from pipeline.processing.batch import run_batch, run_rescore
from pipeline.processing.procedure import CallProcessor
from pipeline.processing.retries import RetryPolicy
from pipeline.config import load_settings
from pipeline.errors import ModelError, PermanentRecordingError, SetupError
from pipeline.models.choice import choose_models, smollm2_model
from pipeline.scoring.openai_backend import OpenAIBackend, choice_probabilities
from pipeline.scoring.prompt import load_prompt_template
from pipeline.scoring.score import Scorer
from pipeline.speech.segments import Segment
from pipeline.store.warehouse import Warehouse
from tests.conftest import GOOD_CALL, POOR_CALL, TWO_CRITERIA, WIDER_CRITERION, rows, run_cli

pytestmark = pytest.mark.slow  # every test here runs a real model in a process it starts

GOOD = [
    Segment(speaker, 0 if speaker == "agent" else 1, i * 3.0, i * 3.0 + 2.5, text, -0.2, 0.01, 1.1)
    for i, (speaker, text) in enumerate([
        ("agent", "Thank you for calling Northwind Energy, my name is Sam, how can I help?"),
        ("customer", "Hi, my bill is higher than usual."),
        ("agent", "Can you confirm your date of birth and postcode first?"),
        ("customer", "Fourth of May 1980, N1 4AB."),
        ("agent", "Thanks, you're verified. I will send a meter reading form today."),
    ])
]


def _start_server(log_path: Path, *extra: str, api_key: str | None = None) -> tuple[subprocess.Popen, str]:
    """The server on the embedded SmolLM2 (bench/llm_server.py); the test fails if it does not start."""
    try:
        return start_llm_server(smollm2_model(), log_path, *extra, api_key=api_key)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The OpenAI base URL of a server shared by this module's tests."""
    process, base_url = _start_server(tmp_path_factory.mktemp("llm-server") / "server.log")
    yield base_url
    stop_llm_server(process)


@pytest.fixture(scope="module")
def backend(server: str) -> Iterator[OpenAIBackend]:
    backend = OpenAIBackend(server, n_ctx=4096)
    yield backend
    backend.close()


def test_the_server_is_recognised_and_counts_tokens(backend: OpenAIBackend) -> None:
    assert backend.server_kind == "llama-cpp-python"
    assert backend.name == f"openai:{backend.model}" and backend.n_ctx == 4096
    assert 0 < backend.count_tokens("Thank you for calling Northwind Energy.") < 20


def test_the_schema_constrains_what_the_server_writes(backend: OpenAIBackend) -> None:
    """An answer the model would never write unprompted: only the grammar can produce it."""
    schema = {"type": "object", "properties": {"colour": {"enum": ["zebra-7"]}}, "required": ["colour"],
              "additionalProperties": False}
    messages = [{"role": "user", "content": "Say hello in French."}]
    generation = backend.generate_json(messages, schema, max_tokens=40)
    assert json.loads(generation.text) == {"colour": "zebra-7"}
    assert generation.prompt_tokens > 0 and generation.completion_tokens > 0


def test_the_json_schema_form_falls_back_where_the_server_rejects_it(server: str) -> None:
    """llama-cpp-python's server answers the OpenAI json_schema form with an error naming
    json_object: the backend switches form once and the schema still holds."""
    backend = OpenAIBackend(server)
    backend._format = "json_schema"  # as for a server not recognised by its tokenize endpoint
    schema = {"type": "object", "properties": {"code": {"enum": ["q-42"]}}, "required": ["code"]}
    generation = backend.generate_json([{"role": "user", "content": "Hi"}], schema, max_tokens=20)
    assert json.loads(generation.text) == {"code": "q-42"} and backend._format == "json_object"
    backend.close()


def test_scorer_on_the_server_gives_allowed_verdicts_and_confidences(backend: OpenAIBackend) -> None:
    result = Scorer(backend, TWO_CRITERIA, load_prompt_template()).score(GOOD)
    assert [v.criterion_id for v in result.verdicts] == ["greeted", "verified_identity"]
    for verdict, criterion in zip(result.verdicts, TWO_CRITERIA.criteria, strict=True):
        assert verdict.passed in (True, False) or (verdict.passed is None and criterion.allow_na)
        assert verdict.confidence is None or 0.0 <= verdict.confidence <= 1.0
    assert any(v.confidence is not None for v in result.verdicts)  # this server gives logprobs
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_a_request_the_server_refuses_fails_the_recording_permanently(server: str) -> None:
    """More context than the server has: HTTP 400, which no retry can fix."""
    backend = OpenAIBackend(server, n_ctx=100_000)
    messages = [{"role": "user", "content": "word " * 6000}]
    with pytest.raises(PermanentRecordingError, match=r"refused a chat completion request \(HTTP 400"):
        backend.generate_json(messages, {"type": "object"}, max_tokens=10)
    backend.close()


def test_cli_scores_through_the_server_and_records_its_model(server: str, card: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(GOOD_CALL), "--db", str(db), "--scorecard", str(card),
                     "--llm-backend", "openai", "--llm-url", server, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["scored"] == 1
    served = httpx.get(f"{server}/models").json()["data"][0]["id"]
    assert rows(db, "SELECT DISTINCT llm_model FROM evaluations") == [(f"openai:{served}",)]
    assert rows(db, "SELECT count(*), count(DISTINCT llm_model) FROM scores") == [(2, 1)]

    again = run_cli("score", str(GOOD_CALL), "--db", str(db), "--scorecard", str(card),
                    "--llm-backend", "openai", "--llm-url", server, "--json")
    assert json.loads(again.stdout)["counts"]["skipped"] == 1  # same server model: already scored


def test_unreachable_server_stops_the_run_with_one_line_naming_it(card: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    result = run_cli("score", str(GOOD_CALL), "--db", str(tmp_path / "w.duckdb"), "--scorecard", str(card),
                     "--llm-backend", "openai", "--llm-url", url, "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"cannot reach the LLM server at {url}" in result.stderr


def test_openai_backend_without_url_is_a_setup_error(card: Path, tmp_path: Path) -> None:
    result = run_cli("score", str(GOOD_CALL), "--db", str(tmp_path / "w.duckdb"), "--llm-backend", "openai")
    assert result.exit_code == 2 and "llm_url is not set" in result.stderr


def test_a_named_server_model_is_checked_with_the_server_at_start_up(server: str, backend: OpenAIBackend,
                                                                    tmp_path: Path) -> None:
    unreachable = load_settings({"llm_backend": "openai", "llm_url": f"http://127.0.0.1:{free_port()}/v1",
                                 "llm_server_model": "qwen2.5-7b-instruct"}, environ={}, cwd=tmp_path)
    with pytest.raises(ModelError, match="cannot reach the LLM server"):
        choose_models(unreachable)  # before any recording is read
    named = backend.model
    choice = choose_models(load_settings({"llm_backend": "openai", "llm_url": server, "llm_server_model": named},
                                         environ={}, cwd=tmp_path))
    assert choice.llm_name == f"openai:{named}" and choice.llm_path is None
    with pytest.raises(ModelError, match="has no model 'not-served'"):
        choose_models(load_settings({"llm_backend": "openai", "llm_url": server, "llm_server_model": "not-served"},
                                    environ={}, cwd=tmp_path))


def test_settings_for_the_server_resolve_like_the_others(tmp_path: Path) -> None:
    (tmp_path / "callscore.toml").write_text('llm_backend = "openai"\nllm_url = "http://gpu-1:8000/v1/"\n')
    environ = {"CALLSCORE_LLM_API_KEY": "s3cret", "CALLSCORE_LLM_SERVER_MODEL": "qwen"}
    settings = load_settings({"llm_url": None}, environ=environ, cwd=tmp_path)
    assert (settings.llm_backend, settings.llm_url, settings.llm_server_model) == ("openai", "http://gpu-1:8000/v1", "qwen")
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)  # the key does not leak into logs
    flagged = load_settings({"llm_url": "http://gpu-2:8000/v1"}, environ=environ, cwd=tmp_path)
    assert flagged.llm_url == "http://gpu-2:8000/v1"
    with pytest.raises(SetupError, match="invalid setting llm_url .*not an http"):
        load_settings({"llm_url": "gpu-1:8000"}, environ=environ, cwd=tmp_path)


def test_the_api_key_is_sent_as_a_bearer_token(tmp_path: Path) -> None:
    process, base_url = _start_server(tmp_path / "server.log", "--api_key", "s3cret", api_key="s3cret")
    try:
        with pytest.raises(ModelError, match=f"the LLM server at {base_url} refused the API key"):
            OpenAIBackend(base_url)
        settings = load_settings({"llm_backend": "openai", "llm_url": base_url},
                                 environ={"CALLSCORE_LLM_API_KEY": "s3cret"}, cwd=tmp_path)
        assert choose_models(settings).llm_name.startswith("openai:")
        backend = OpenAIBackend(base_url, api_key="s3cret")
        assert backend.count_tokens("hello there") > 0
        backend.close()
    finally:
        stop_llm_server(process)


def test_server_dying_mid_batch_fails_the_recording_as_transient(card: Path, tmp_path: Path) -> None:
    process, base_url = _start_server(tmp_path / "server.log")
    try:
        settings = load_settings({"db": tmp_path / "w.duckdb", "scorecard": card, "llm_backend": "openai",
                                  "llm_url": base_url, "llm_concurrency": 1}, environ={}, cwd=tmp_path)
        processor = CallProcessor(settings)
        with Warehouse.open(settings.db) as warehouse:
            summary = run_batch([GOOD_CALL, POOR_CALL], processor, warehouse, retry=RetryPolicy((0.0,)),
                                on_outcome=lambda outcome: stop_llm_server(process))  # dies after the first call
    finally:
        stop_llm_server(process)
    assert [o.status for o in summary.outcomes] == ["scored", "failed"]  # the batch went on
    failed = summary.outcomes[1]
    assert failed.stage == "score" and base_url in (failed.error or "")
    failures = rows(settings.db, "SELECT path, stage, transient, message FROM failures")
    assert [(path, stage, transient) for path, stage, transient, _ in failures] == [(str(POOR_CALL), "score", True)]
    assert rows(settings.db, "SELECT status, files_scored, files_failed FROM runs") == [("completed", 1, 1)]


def _distinct_calls(folder: Path, count: int) -> list[Path]:
    """``count`` recordings with different contents (so different ids): the sample calls, each
    copy with bytes of its own appended after the audio."""
    folder.mkdir()
    paths = []
    for index in range(count):
        source = (GOOD_CALL, POOR_CALL)[index % 2]
        path = folder / f"{index:02d}-{source.name}"
        path.write_bytes(source.read_bytes() + b"\0" * (index + 1))
        paths.append(path)
    return paths


def _in_flight_counter(processor: CallProcessor) -> dict[str, int]:
    """Wrap the processor's backend to count how many of its requests to the server are open at
    once (observe only). Every request counts: llama-cpp-python's server answers one at a time,
    so while one call's answer is generated the others' token counts wait on the server."""
    backend = processor.scorer.backend
    original, seen, lock = backend._send, {"now": 0, "most": 0}, threading.Lock()

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    backend._send = counting  # type: ignore[method-assign]
    return seen


def test_concurrent_requests_score_every_call_once(server: str, card: Path, tmp_path: Path) -> None:
    """Scored, then re-scored under a wider scorecard (no transcription: only LLM requests, so
    they overlap), three at a time: every call is stored once per scorecard version."""
    calls = _distinct_calls(tmp_path / "inbox", 5)
    overrides = {"db": tmp_path / "w.duckdb", "scorecard": card, "llm_backend": "openai", "llm_url": server,
                 "llm_concurrency": 3}
    processor = CallProcessor(load_settings(overrides, environ={}, cwd=tmp_path))
    assert processor.llm_concurrency == 3
    with Warehouse.open(processor.settings.db) as warehouse:
        summary = run_batch([tmp_path / "inbox"], processor, warehouse, retry=RetryPolicy((0.0,)))
    assert sorted(o.path.name for o in summary.outcomes) == sorted(p.name for p in calls)
    assert {o.status for o in summary.outcomes} == {"scored"}

    wider = tmp_path / "wider.yaml"
    wider.write_text(card.read_text() + WIDER_CRITERION)
    rescoring = CallProcessor(load_settings({**overrides, "scorecard": wider}, environ={}, cwd=tmp_path))
    seen = _in_flight_counter(rescoring)
    with Warehouse.open(processor.settings.db) as warehouse:
        again = run_rescore(rescoring, warehouse, retry=RetryPolicy((0.0,)))
    assert [o.status for o in again.outcomes] == ["scored"] * 5
    assert seen["most"] >= 2  # requests overlapped
    db = processor.settings.db
    assert rows(db, "SELECT count(*), count(DISTINCT (recording_id, scorecard_version)) FROM evaluations") == [(10, 10)]
    assert rows(db, "SELECT count(*) FROM scores") == [(5 * 2 + 5 * 3,)]
    assert rows(db, "SELECT source, status, files_scored FROM runs ORDER BY started_at") == [
        ("cli", "completed", 5), ("rescore", "completed", 5)]


def test_a_server_killed_mid_run_fails_only_the_calls_it_had_not_answered(card: Path, tmp_path: Path) -> None:
    calls = _distinct_calls(tmp_path / "inbox", 6)
    process, base_url = _start_server(tmp_path / "server.log")
    stored: list[str] = []

    def after(outcome: Any) -> None:
        if outcome.status == "scored":
            stored.append(outcome.path.name)
            if len(stored) == 2:
                stop_llm_server(process)  # the server dies with calls in flight

    try:
        settings = load_settings({"db": tmp_path / "w.duckdb", "scorecard": card, "llm_backend": "openai",
                                  "llm_url": base_url, "llm_concurrency": 3}, environ={}, cwd=tmp_path)
        with Warehouse.open(settings.db) as warehouse:
            summary = run_batch([tmp_path / "inbox"], CallProcessor(settings), warehouse, retry=RetryPolicy((0.0,)),
                                on_outcome=after)
    finally:
        stop_llm_server(process)
    # Calls are stored by their own threads, so one more may have been stored before the kill.
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert len(summary.outcomes) == len(calls) == len(stored) + len(failed) and len(stored) >= 2 and failed
    assert all(o.stage == "score" and base_url in (o.error or "") for o in failed)
    failures = rows(settings.db, "SELECT path, stage, transient FROM failures")
    assert sorted(failures) == sorted((str(o.path), "score", True) for o in failed)
    stored_paths = rows(settings.db, "SELECT r.path FROM evaluations e JOIN recordings r USING (recording_id)")
    assert sorted(Path(p).name for (p,) in stored_paths) == sorted(stored)  # once each, none of the failed
    assert rows(settings.db, "SELECT status, files_scored, files_failed FROM runs") == [
        ("completed", len(stored), len(failed))]


# -- reading verdict probabilities from logprobs (no server needed) ----------------------------


def _token(text: str, logprob: float, alternatives: dict[str, float]) -> dict:
    return {"token": text, "logprob": logprob,
            "top_logprobs": [{"token": t, "logprob": lp} for t, lp in alternatives.items()]}


def _plain(text: str) -> dict:
    return _token(text, 0.0, {text: 0.0})


def test_probabilities_are_read_where_each_verdict_value_starts() -> None:
    content = [
        _plain('{"a": {"evidence": "hi", "verdict": "'),
        _token("yes", math.log(0.6), {"yes": math.log(0.6), "no": math.log(0.3), "n": math.log(0.05)}),
        _plain('"}, "b": {"evidence": "", "verdict": '),
        _token('"na', math.log(0.5), {'"na': math.log(0.5), '"no': math.log(0.2), '"y': math.log(0.1)}),
        _plain('"}}'),
    ]
    first, second = choice_probabilities(content, top_logprobs=3)
    assert first == pytest.approx({"yes": 0.6, "no": 0.3, "na": 0.05})  # 'n' is no or na: lowest listed
    assert second == pytest.approx({"yes": 0.1, "no": 0.2, "na": 0.5})  # quote and word in one token


def test_an_option_outside_a_short_list_counts_as_zero_and_no_logprobs_give_nothing() -> None:
    content = [_plain('{"a": {"verdict": "'), _token("no", -0.1, {"no": -0.1}), _plain('"}}')]
    assert choice_probabilities(content) == ({"yes": 0.0, "no": pytest.approx(math.exp(-0.1)), "na": 0.0},)
    assert choice_probabilities([_plain('{"a": {"verdict": "no"}}')]) == ()
