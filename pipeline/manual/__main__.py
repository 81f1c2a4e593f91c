"""``python -m pipeline.manual [--check] [FOLDER]``: write the reference pages into FOLDER
(default docs/reference), or with ``--check`` exit 1 naming the stale ones."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.manual.pages import stale_pages, write_pages


def run(arguments: list[str]) -> int:
    check = "--check" in arguments
    folders = [argument for argument in arguments if argument != "--check"]
    folder = Path(folders[0] if folders else "docs/reference")
    if check:
        stale = stale_pages(folder)
        for name in stale:
            print(f"{folder / name} is stale: run `make reference` and commit it", file=sys.stderr)
        return 1 if stale else 0
    for name in write_pages(folder):
        print(f"wrote {folder / name}")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
