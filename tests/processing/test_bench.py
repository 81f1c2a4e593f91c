"""The speed benchmark's own parts: word error rate, the baselines it measures against, its token
accounting, and the report it writes into docs. Real models and a real sample call; no timing is
asserted (speed is shown by `make bench`, not by tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fixtures import find_calls, normalise_words, word_edits, word_errors
from bench.scoring import bench_scoring, scoring_table
from bench.speed import DOC_BEGIN, DOC_END, bench_transcription, update_doc
from pipeline.processing.procedure import CallProcessor
from pipeline.config import load_settings
from tests.conftest import GOOD_CALL, SAMPLE_CALLS


def test_word_error_rate_counts_substitutions_deletions_and_insertions() -> None:
    assert word_edits("a b c d".split(), "a x c d e".split()) == 2  # one substitution, one insertion
    assert word_edits("a b c".split(), []) == 3
    errors = word_errors("Thank you for calling, Northwind Energy.", "thank you for calling northwind")
    assert (errors.edits, errors.reference_words, errors.rate) == (1, 6, 1 / 6)


def test_numbers_and_punctuation_are_not_counted_as_errors() -> None:
    assert normalise_words("Room four, nineteen eighty.") == normalise_words("room 4 19 80")
    assert normalise_words("Twenty-two Park Road") == ["22", "park", "road"]
    assert normalise_words("It's £1,000!") == ["it's", "1000"]


def test_sample_calls_have_their_scripts_as_references() -> None:
    calls = {c.path.name: c for c in find_calls([SAMPLE_CALLS])}
    assert set(calls) == {"billing-good.mp3", "broadband-poor.mp3", "address-change-mono.mp3"}
    assert calls["billing-good.mp3"].channels == 2 and calls["address-change-mono.mp3"].channels == 1
    assert calls["billing-good.mp3"].reference.startswith("Thank you for calling Northwind Energy")


def test_a_txt_next_to_a_recording_is_its_reference(tmp_path: Path) -> None:
    copy = tmp_path / "mine.mp3"
    copy.write_bytes(GOOD_CALL.read_bytes())
    assert find_calls([tmp_path])[0].reference is None
    copy.with_suffix(".txt").write_text("hello there")
    assert find_calls([tmp_path])[0].reference == "hello there"


@pytest.fixture(scope="module")
def processor() -> CallProcessor:
    return CallProcessor(load_settings({}))


@pytest.mark.slow
def test_transcription_bench_runs_ours_and_the_baselines_on_the_same_call(processor: CallProcessor) -> None:
    calls = [c for c in find_calls([SAMPLE_CALLS]) if c.path == GOOD_CALL]
    result = bench_transcription(processor, calls, with_defaults=True)
    assert result.ours.seconds > 0 and result.bare.seconds > 0 and result.defaults.seconds > 0
    for variant in (result.ours, result.bare, result.defaults):
        assert variant.errors.reference_words == len(normalise_words(calls[0].reference))
        assert variant.errors.rate < 0.5  # each variant really transcribed the call
    assert {s.speaker for s in result.segments["billing-good.mp3"]} == {"agent", "customer"}


@pytest.mark.slow
def test_scoring_styles_run_side_by_side_and_the_default_decides_a_few_tokens(processor: CallProcessor,
                                                                              tmp_path: Path) -> None:
    segments = processor.transcribe_file(GOOD_CALL).transcript.segments
    labels = tmp_path / "labels.csv"
    labels.write_text("recording,criterion_id,label\nbilling-good.mp3,greeted,yes\nbilling-good.mp3,empathy,yes\n")
    result = bench_scoring(processor, {"billing-good.mp3": segments}, labels, naive=True)
    assert list(result.styles) == ["lines", "lines_no_fields", "lines_grammar", "quotes", "before", "naive"]
    criteria = result.llm_criteria
    assert criteria == len(processor.scorecard.llm_criteria)
    ours, grammar, naive = result.styles["lines"], result.styles["lines_grammar"], result.styles["naive"]
    assert (ours.llm_calls, naive.llm_calls) == (1, criteria)
    assert ours.decided_tokens <= 4 * criteria < grammar.decided_tokens == grammar.completion_tokens
    # every question of the naive baseline re-reads the transcript: nothing comes from the cache
    assert naive.evaluated_prompt_tokens == naive.prompt_tokens > 3 * ours.evaluated_prompt_tokens
    assert all(len(run.pairs) == 2 for run in result.styles.values())
    # the fields are answered in the default's one form: a few more answer tokens, no more calls
    without = result.styles["lines_no_fields"]
    assert without.llm_calls == ours.llm_calls and without.completion_tokens < ours.completion_tokens
    lines = scoring_table(result)
    assert len([line for line in lines if line.startswith("| ")]) == 1 + 6  # a header and a row per style


def test_report_goes_between_the_markers_and_the_rest_of_the_doc_stays(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\nintro\n{DOC_BEGIN}\nold figures\n{DOC_END}\nafterword\n")
    update_doc(doc, "new figures")
    text = doc.read_text()
    assert "new figures" in text and "old figures" not in text
    assert text.startswith("# Benchmarks\nintro\n") and text.endswith("afterword\n")
    doc.write_text("no markers")
    with pytest.raises(SystemExit, match="no bench markers"):
        update_doc(doc, "x")
