"""The manual's reference pages, generated from the code: the ``callscore`` commands and options
(from click), the settings (from ``Settings``), the warehouse's tables, views and columns (from a
freshly migrated warehouse and the comments beside its SQL) and the exit codes.
``python -m pipeline.manual`` writes them into docs/reference; ``--check`` says which are stale."""
