"""``python -m pipeline.cli``: the same as the ``callscore`` command."""

from pipeline.cli import main

main()
