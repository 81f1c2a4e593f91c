"""Transcripts longer than the LLM's context, split into overlapping windows of whole lines
(a line longer than a window is cut at word boundaries), so nothing is ever truncated."""

from __future__ import annotations

from typing import Sequence

WINDOW_OVERLAP = 0.15  # share of a window's lines repeated at the start of the next


def split_windows(lines: Sequence[str], token_counts: Sequence[int], budget: int) -> list[list[str]]:
    """Pack whole lines into windows of at most ``budget`` tokens; consecutive windows share
    about ``WINDOW_OVERLAP`` of their lines. A line longer than the budget is cut at word
    boundaries first."""
    return [[text for _, text in window] for window in split_indexed_windows(lines, token_counts, budget)]


def split_indexed_windows(lines: Sequence[str], token_counts: Sequence[int], budget: int
                          ) -> list[list[tuple[int, str]]]:
    """``split_windows``, each piece with the index of the line it comes from."""
    pieces: list[tuple[int, str, int]] = []
    for index, (line, count) in enumerate(zip(lines, token_counts)):
        if count <= budget:
            pieces.append((index, line, count))
            continue
        words = line.split()
        per_piece = max(1, len(words) * budget // (count * 2))
        for start in range(0, len(words), per_piece):
            chunk = " ".join(words[start : start + per_piece])
            pieces.append((index, chunk, count * len(chunk) // max(1, len(line)) + 1))
    if not pieces:
        return [[]]
    windows: list[list[tuple[int, str]]] = []
    start = 0
    while start < len(pieces):
        used, end = 0, start
        while end < len(pieces) and used + pieces[end][2] <= budget:
            used += pieces[end][2]
            end += 1
        end = max(end, start + 1)
        windows.append([(index, text) for index, text, _ in pieces[start:end]])
        if end >= len(pieces):
            break
        overlap = int((end - start) * WINDOW_OVERLAP)
        start = max(start + 1, end - overlap)
    return windows


def labelled_piece(piece: tuple[int, str], numbered: bool) -> str:
    """A window's piece of a line as it goes into the prompt: a numbered line cut in pieces
    keeps its number on every piece after the first ("L7 ..."), so every piece can be cited."""
    index, text = piece
    if not numbered or text.startswith(f"L{index + 1} "):
        return text
    return f"L{index + 1} ...{text}"
