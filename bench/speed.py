"""Where the time goes: callscore against plain baselines, measured in one run on the same calls.

    .venv/bin/python bench/speed.py [FOLDER ...] [--calls N] [--scoring-calls N]
                                    [--sizes 10000 100000 1000000] [--price-per-hour USD]
                                    [--only transcription,scoring,end_to_end,levers,concurrency,warehouse]
                                    [--under-load] [--naive] [--json FILE] [--update-doc docs/benchmarks.md]

(``make bench`` runs it on the bundled calls and writes docs/benchmarks.md.) Every figure that
has a target is a ratio against a baseline measured in the same run, on the same recordings, with
the same loaded model, so a busy machine slows both sides alike:

1. transcription: ``CallProcessor.transcribe_file`` (streamed decode, both channels, redaction)
   against a bare faster-whisper loop with the same model and settings: our overhead;
2. our transcription settings against faster-whisper's defaults on the same files (beam 5, no
   VAD, stereo mixed to mono, conditioned on previous text): speed and word error rate;
3. the scoring styles side by side on the same transcripts (``bench/scoring.py``): the default
   (line evidence, fixed tokens skipped, instructions cached) against the scoring before line
   evidence, quotes, and plain grammar decoding: seconds, prompt tokens sent and evaluated,
   answer tokens and tokens the model decided per criterion, and agreement with the human
   labels of the labelled calls, so speed is never bought with accuracy; then
   ``llm_concurrency`` 1, 2 and 4 against ``python -m llama_cpp.server`` on loopback;
4. end to end: ``callscore score`` on the sample calls, and on the long calls (4-8 minutes,
   ``samples/long_calls.py``), in a child process: audio seconds per wall second, calls per
   hour, peak memory, and the cost per audio hour; then each speed setting alone and all
   together on the sample calls, with ``--under-load`` also with one core kept busy
   (``bench/levers.py``);
5. warehouse: writing calls, and the KPI views over 10k, 100k and 1M synthetic scored calls
   (``bench/warehouse.py``).

FOLDER defaults to the sample calls and the labelled calls (written with espeak-ng on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fixtures import (  # noqa: E402
    LABELLED_DIR, SAMPLE_CALLS_DIR, FixtureCall, WordErrors, ensure_labelled_calls, find_calls, word_errors,
)
from bench.levers import bench_levers, levers_table, under_load_ratio  # noqa: E402
from bench.machine import describe_machine  # noqa: E402
from pipeline.processing.procedure import CallProcessor  # noqa: E402
from pipeline.config import Settings, load_settings  # noqa: E402
from pipeline.report.agreement import read_labels  # noqa: E402
from pipeline.speech.segments import Segment  # noqa: E402
from bench.scoring import (  # noqa: E402
    ConcurrencyRun, ScoringBench, bench_concurrency, bench_scoring, concurrency_table, scoring_table,
)
from samples.labelled import CALLS as LABELLED_CALLS  # noqa: E402
from samples.long_calls import DEFAULT_OUT_DIR as LONG_DIR, ensure_long_calls  # noqa: E402

CALLSCORE = str(Path(sys.executable).with_name("callscore"))
DOC_BEGIN = "<!-- bench:begin (written by bench/speed.py --update-doc; edit outside these markers) -->"
DOC_END = "<!-- bench:end -->"
SECTIONS = ("transcription", "scoring", "end_to_end", "levers", "concurrency", "warehouse")
DEFAULT_PRICE_PER_HOUR = 0.10  # USD per machine hour: roughly a 2-vCPU cloud VM on demand

TARGETS = {
    "transcription_overhead": "ours at most 1.05x the bare faster-whisper loop",
    "settings_speedup": "our settings at least 2x faster than faster-whisper's defaults",
    "settings_wer": "at most 1 point worse word error rate than the defaults",
    "llm_time": "LLM seconds per call at most 1/4 of the scoring before line evidence; at most 4 tokens"
                " decided per criterion",
    "end_to_end": "at least 10 audio seconds per wall second, peak memory under 1 GB",
    "end_to_end_long": "at least 20 audio seconds per wall second on 4-8 minute calls",
    "views": "every KPI query under 0.5 s at 1M calls",
    "under_load": "end to end on samples/calls with one core busy at most 2x the quiet wall time",
}


# -- measurements -----------------------------------------------------------------------------------

@dataclass
class Timed:
    """Seconds spent by one variant over all calls."""

    seconds: float = 0.0
    errors: WordErrors = field(default_factory=lambda: WordErrors(0, 0))

    def add(self, seconds: float, errors: WordErrors | None) -> None:
        self.seconds += seconds
        if errors is not None:
            self.errors = self.errors + errors


@dataclass
class TranscriptionBench:
    calls: int
    audio_s: float
    wer_calls: int  # calls with a reference text
    ours: Timed
    bare: Timed  # the same model and settings, a plain loop
    defaults: Timed  # faster-whisper's defaults: beam 5, no VAD, mono mix
    segments: dict[str, tuple[Segment, ...]] = field(default_factory=dict, repr=False)

    @property
    def overhead(self) -> float:
        """Our seconds / the bare loop's (1.0 = no overhead)."""
        return self.ours.seconds / self.bare.seconds

    @property
    def speedup_over_defaults(self) -> float:
        return self.defaults.seconds / self.ours.seconds


@dataclass
class EndToEndBench:
    calls: int
    audio_s: float
    wall_s: float  # the whole `callscore score` process: start, model loads, every call, exit
    peak_rss_mb: float  # the child process's peak resident memory, MiB
    transcription_s: float  # from the warehouse: decode + transcribe + redact
    llm_s: float  # from the warehouse: scoring
    price_per_hour: float

    @property
    def audio_per_wall(self) -> float:
        return self.audio_s / self.wall_s

    @property
    def calls_per_hour(self) -> float:
        return 3600 * self.calls / self.wall_s

    @property
    def cost_per_audio_hour(self) -> float:
        """USD per hour of audio: machine hours needed for one audio hour x price."""
        return self.price_per_hour / self.audio_per_wall


# -- 1 and 2: transcription ---------------------------------------------------------------------

def bare_loop(model: Any, call: FixtureCall, settings: Settings) -> str:
    """What a user of faster-whisper would write for our settings: decode, split, transcribe."""
    from faster_whisper.audio import decode_audio

    stereo = call.channels == 2
    audio = decode_audio(str(call.path), split_stereo=stereo)
    channels = audio if stereo else (audio,)
    pieces: list[tuple[float, str]] = []
    for samples in channels:
        segments, _ = model.transcribe(
            samples, beam_size=settings.beam_size, language=settings.language, vad_filter=True,
            condition_on_previous_text=False, word_timestamps=True,
        )
        pieces.extend((s.start, s.text) for s in segments)
    return " ".join(text for _, text in sorted(pieces))


def defaults_loop(model: Any, call: FixtureCall) -> str:
    """faster-whisper's defaults: the file mixed to mono, beam 5, no VAD."""
    segments, _ = model.transcribe(str(call.path))
    return " ".join(s.text for s in segments)


def bench_transcription(processor: CallProcessor, calls: Sequence[FixtureCall], *, with_defaults: bool = True
                        ) -> TranscriptionBench:
    """Each call by each variant in turn (the order rotates per call, so drift hits all alike)."""
    model = processor.transcriber._model  # the same loaded model for every variant
    result = TranscriptionBench(len(calls), sum(c.duration_s for c in calls),
                                sum(1 for c in calls if c.reference), Timed(), Timed(), Timed())

    def ours(call: FixtureCall) -> str:
        transcription = processor.transcribe_file(call.path)
        segments = transcription.transcript.segments if transcription.transcript else ()
        result.segments[call.path.name] = segments
        return " ".join(s.text for s in segments)

    variants: list[tuple[Timed, Callable[[FixtureCall], str]]] = [
        (result.ours, ours),
        (result.bare, lambda call: bare_loop(model, call, processor.settings)),
    ]
    if with_defaults:
        variants.append((result.defaults, lambda call: defaults_loop(model, call)))
    ours(calls[0])  # warm-up: first inference allocates
    for index, call in enumerate(calls):
        for timed, run in variants[index % len(variants):] + variants[: index % len(variants)]:
            started = time.perf_counter()
            text = run(call)
            timed.add(time.perf_counter() - started, word_errors(call.reference, text) if call.reference else None)
        print(f"  transcribed {call.path.name} ({index + 1}/{len(calls)})", file=sys.stderr)
    return result


# -- 4: end to end ----------------------------------------------------------------------------------

def bench_end_to_end(folder: Path, price_per_hour: float, settings: dict[str, str] | None = None) -> EndToEndBench:
    """``callscore score FOLDER`` on a new warehouse, in a child process of its own (``settings``:
    environment variables it gets)."""
    import duckdb

    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "bench.duckdb"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        result = subprocess.run([CALLSCORE, "score", str(folder), "--db", str(db), "--json"],
                                capture_output=True, text=True, env={**os.environ, **(settings or {})})
        wall_s = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if result.returncode != 0:
            raise SystemExit(f"callscore score failed ({result.returncode}):\n{result.stderr[-2000:]}")
        if peak_kib <= before:
            print("warning: peak memory of the child could not be told apart from an earlier one", file=sys.stderr)
        with duckdb.connect(str(db), read_only=True) as connection:
            calls, audio_s = connection.execute(
                "SELECT count(*), sum(duration_s) FROM recordings").fetchone()
            transcription_s = connection.execute("SELECT sum(seconds) FROM transcripts").fetchone()[0] or 0.0
            llm_s = connection.execute("SELECT sum(llm_seconds) FROM evaluations").fetchone()[0] or 0.0
    return EndToEndBench(calls, audio_s, wall_s, peak_kib / 1024, transcription_s, llm_s, price_per_hour)


# -- report -----------------------------------------------------------------------------------------

def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def report(results: dict[str, Any], *, models: dict[str, str], machine: str, wall_s: float) -> str:
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine}; no GPU.",
             f"Models: Whisper `{models['whisper']}` ({models['device']}), LLM `{models['llm']}`. "
             f"The whole run took {wall_s / 60:.1f} min.", ""]
    summary: list[str] = []
    t: TranscriptionBench | None = results.get("transcription")
    if t:
        overhead_ok = t.overhead <= 1.05
        speed_ok = t.speedup_over_defaults >= 2
        wer_ours, wer_defaults = t.ours.errors.rate, t.defaults.errors.rate
        wer_ok = wer_ours is not None and wer_defaults is not None and wer_ours - wer_defaults <= 0.01
        lines += [
            f"### 1-2. Transcription ({t.calls} calls, {t.audio_s / 60:.1f} min of audio; "
            f"word error rate on the {t.wer_calls} with a script)", "",
            "| variant | seconds | audio s per wall s | vs ours | word error rate |", "|---|---|---|---|---|",
            f"| ours: streamed decode, VAD, both channels, greedy, word times, redaction | {t.ours.seconds:.1f} "
            f"| {t.audio_s / t.ours.seconds:.1f} | 1.00x | {_pct(wer_ours)} |",
            f"| bare faster-whisper loop, same model and settings | {t.bare.seconds:.1f} "
            f"| {t.audio_s / t.bare.seconds:.1f} | {t.bare.seconds / t.ours.seconds:.2f}x | {_pct(t.bare.errors.rate)} |",
        ]
        if t.defaults.seconds:
            lines.append(
                f"| faster-whisper defaults: mono mix, beam 5, no VAD | {t.defaults.seconds:.1f} "
                f"| {t.audio_s / t.defaults.seconds:.1f} | {t.defaults.seconds / t.ours.seconds:.2f}x | {_pct(wer_defaults)} |")
        lines.append("")
        summary.append(f"| our overhead over the bare loop | {TARGETS['transcription_overhead']} "
                       f"| {t.overhead:.3f}x | {_met(overhead_ok)} |")
        if t.defaults.seconds:
            summary.append(f"| our settings vs defaults, speed | {TARGETS['settings_speedup']} "
                           f"| {t.speedup_over_defaults:.2f}x faster | {_met(speed_ok)} |")
            if wer_ours is not None and wer_defaults is not None:
                summary.append(f"| our settings vs defaults, word error rate | {TARGETS['settings_wer']} "
                               f"| {100 * (wer_ours - wer_defaults):+.1f} points ({_pct(wer_ours)} vs "
                               f"{_pct(wer_defaults)}) | {_met(wer_ok)} |")
    s: ScoringBench | None = results.get("scoring")
    if s:
        lines += scoring_table(s)
        ours, before = s.styles["lines"].agreement(), s.styles["before"].agreement()
        summary.append(f"| LLM time per call | {TARGETS['llm_time']} | {s.per_call('lines'):.2f} s against "
                       f"{s.per_call('before'):.2f} s: {s.speedup:.2f}x less; {s.decided_per_criterion:.1f} decided "
                       f"per criterion; agreement {_pct(ours.agreement)} vs {_pct(before.agreement)} "
                       f"| {_met(s.speedup >= 4 and s.decided_per_criterion <= 4)} |")
        summary.append(f"| extraction fields | measured, no target | {s.fields_seconds_per_call:+.2f} LLM s per call "
                       f"({s.per_call('lines'):.2f} s with, {s.per_call('lines_no_fields'):.2f} s without) | - |")
    runs: list[ConcurrencyRun] | None = results.get("concurrency")
    if runs:
        lines += concurrency_table(runs)
    for key, label in (("end_to_end", "samples/calls"), ("end_to_end_long", "samples/long")):
        e: EndToEndBench | None = results.get(key)
        if not e:
            continue
        other_s = e.wall_s - e.transcription_s - e.llm_s
        lines += [
            f"### 4. End to end (`callscore score {label}`, {e.calls} calls, {e.audio_s:.0f} s of audio)", "",
            "| wall s | audio s per wall s | calls per hour | peak memory | transcription s | LLM s "
            "| start, model loads, storing | cost per audio hour |", "|---|---|---|---|---|---|---|---|",
            f"| {e.wall_s:.1f} | {e.audio_per_wall:.1f} | {e.calls_per_hour:.0f} | {e.peak_rss_mb:.0f} MiB "
            f"| {e.transcription_s:.1f} | {e.llm_s:.1f} | {other_s:.1f} "
            f"| ${e.cost_per_audio_hour:.4f} at ${e.price_per_hour:.2f} per machine hour |", "",
        ]
        met = e.audio_per_wall >= 10 and e.peak_rss_mb < 1024 if key == "end_to_end" else e.audio_per_wall >= 20
        summary.append(f"| end to end, {label} | {TARGETS[key]} | {e.audio_per_wall:.1f} audio s per s, "
                       f"{e.peak_rss_mb:.0f} MiB | {_met(met)} |")
    if results.get("levers"):
        lines += levers_table(results["levers"], "samples/calls")
        ratio = under_load_ratio(results["levers"])
        if ratio is not None:
            summary.append(f"| under load | {TARGETS['under_load']} | {ratio:.2f}x | {_met(ratio <= 2)} |")
    w = results.get("warehouse")
    if w is not None:
        lines += ["### 5. Warehouse", "", w.markdown(), ""]
        summary.append(f"| KPI views | {TARGETS['views']} | {w.summary()} | {_met(w.target_met())} |")
    head = ["| measure | target | measured | |", "|---|---|---|---|", *summary, ""]
    return "\n".join(head + lines)


def update_doc(path: Path, text: str) -> None:
    """Replace what is between the bench markers of ``path`` with ``text``."""
    doc = path.read_text(encoding="utf-8")
    if DOC_BEGIN not in doc or DOC_END not in doc:
        raise SystemExit(f"{path} has no bench markers ({DOC_BEGIN} ... {DOC_END})")
    head, rest = doc.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    path.write_text(f"{head}{DOC_BEGIN}\n{text}\n{DOC_END}{tail}", encoding="utf-8")


def _jsonable(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in results.items():
        if isinstance(value, list):
            out[name] = [asdict(item) for item in value]
            continue
        data = value.as_dict() if hasattr(value, "as_dict") else asdict(value)
        data.pop("segments", None)
        for style in (data.get("styles") or {}).values():
            style.pop("pairs", None)
        out[name] = data
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("folders", nargs="*", type=Path, help="recordings to run on (default: sample and labelled calls)")
    parser.add_argument("--calls", type=int, help="use at most this many recordings for transcription")
    parser.add_argument("--scoring-calls", type=int,
                        help="score the first N labelled calls and the injection calls (default: all)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="synthetic calls in the warehouse bench")
    parser.add_argument("--price-per-hour", type=float, default=DEFAULT_PRICE_PER_HOUR,
                        help="machine price in USD per hour, for the cost per audio hour")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run, of {', '.join(SECTIONS)}")
    parser.add_argument("--under-load", action="store_true", help="also run the levers with one core kept busy")
    parser.add_argument("--naive", action="store_true", help="also score each criterion in its own uncached question")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--update-doc", type=Path, help="write the report between the bench markers of this file")
    args = parser.parse_args(argv)
    sections = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}")

    started = time.perf_counter()
    results: dict[str, Any] = {}
    settings = load_settings({})
    processor = CallProcessor(settings)
    if not args.folders:
        ensure_labelled_calls()
    folders = args.folders or [SAMPLE_CALLS_DIR, LABELLED_DIR]
    if "end_to_end" in sections:  # first, while this process holds no model: its memory is the child's alone
        print("end to end ...", file=sys.stderr)
        results["end_to_end"] = bench_end_to_end(folders[0], args.price_per_hour)
        if not args.folders:
            ensure_long_calls()
            results["end_to_end_long"] = bench_end_to_end(LONG_DIR, args.price_per_hour)
    if "levers" in sections:
        print("speed levers end to end ...", file=sys.stderr)
        results["levers"] = bench_levers(folders[0], lambda folder, env: bench_end_to_end(folder, args.price_per_hour, env),
                                         under_load=args.under_load)
    if "concurrency" in sections:  # before this process loads the model: the server is alone on the cores
        print("llm_concurrency against a local server ...", file=sys.stderr)
        results["concurrency"] = bench_concurrency(CALLSCORE, folders[0], processor.models.llm_path)
    transcription = None
    if "transcription" in sections or "scoring" in sections:
        calls = find_calls(folders, limit=args.calls)
        print(f"transcription: {len(calls)} calls ...", file=sys.stderr)
        transcription = bench_transcription(processor, calls, with_defaults="transcription" in sections)
        if "transcription" in sections:
            results["transcription"] = transcription
    if "scoring" in sections and transcription is not None:
        labels_file = next((f / "labels.csv" for f in folders if (f / "labels.csv").is_file()), None)
        if labels_file is None:
            raise SystemExit("scoring needs a folder with labels.csv (the labelled calls)")
        labelled = {row.recording for row in read_labels(labels_file, processor.scorecard.choice_options)}
        transcripts = {name: segs for name, segs in transcription.segments.items() if name in labelled and segs}
        if args.scoring_calls:  # the first N, and the calls that try to talk the reviewer round
            injected = {call.name for call in LABELLED_CALLS if call.injection}
            transcripts = {name: segs for index, (name, segs) in enumerate(transcripts.items())
                           if index < args.scoring_calls or name in injected}
        print(f"scoring: {len(transcripts)} calls ...", file=sys.stderr)
        results["scoring"] = bench_scoring(processor, transcripts, labels_file, naive=args.naive)
    if "warehouse" in sections:
        from bench.warehouse import run as bench_warehouse

        print("warehouse ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as scratch:
            results["warehouse"] = bench_warehouse(args.sizes, Path(scratch))

    models = {"whisper": processor.models.whisper_name, "llm": processor.models.llm_name,
              "device": "cpu int8" if processor._transcriber is None else
              f"{processor.transcriber.choice.device} {processor.transcriber.choice.compute_type}"}
    text = report(results, models=models, machine=describe_machine(), wall_s=time.perf_counter() - started)
    print(text)
    if args.update_doc:
        update_doc(args.update_doc, text)
    if args.json:
        args.json.write_text(json.dumps(_jsonable(results), indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
