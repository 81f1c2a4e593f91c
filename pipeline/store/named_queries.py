"""Named SQL queries shipped in ``warehouse/queries/`` and the variables they read.

A query file is one SELECT statement; its leading ``--`` comment says what it answers and which
variables it reads with ``getvariable('name')`` (each has a default). Users run them with
``callscore sql NAME --var name=value`` or paste them into any DuckDB client after
``SET VARIABLE name = value;``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import duckdb

from pipeline.errors import CallscoreError
from pipeline.resources import data_dir

_VARIABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_GETVARIABLE = re.compile(r"getvariable\s*\(\s*'([a-z_][a-z0-9_]*)'\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class NamedQuery:
    name: str  # file stem, e.g. 'worst_calls_this_week'
    summary: str  # first comment line
    sql: str


def bundled_queries() -> dict[str, NamedQuery]:
    queries = {}
    for path in sorted((data_dir("warehouse") / "queries").glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        first = next((line for line in sql.splitlines() if line.startswith("--")), "-- ")
        queries[path.stem] = NamedQuery(path.stem, first[2:].strip(), sql)
    return queries


def resolve_query(text: str) -> str:
    """SQL for ``text``: a bundled query's name, a path to a ``.sql`` file, or SQL itself."""
    stripped = text.strip()
    named = bundled_queries().get(stripped.replace("-", "_"))
    if named is not None:
        return named.sql
    if stripped.endswith(".sql") and "\n" not in stripped:
        path = Path(stripped)
        if not path.is_file():
            raise CallscoreError(f"no query file {path}")
        return path.read_text(encoding="utf-8")
    return text


def parse_variables(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["target=0.8", ...]`` -> ``{"target": "0.8"}``, with a clear error for bad input."""
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not _VARIABLE_NAME.match(name):
            raise CallscoreError(f"--var expects NAME=VALUE with a lower-case name, got {pair!r}")
        variables[name] = value
    return variables


def check_variables(sql: str, variables: dict[str, str]) -> dict[str, str]:
    """``variables``, refused (``CallscoreError``) when one is a name ``sql`` never reads with
    ``getvariable('name')``: a misspelt --var would otherwise be silently ignored."""
    read = set(_GETVARIABLE.findall(sql))
    unknown = sorted(set(variables) - read)
    if unknown:
        known = ", ".join(sorted(read)) or "none"
        raise CallscoreError(f"the query reads no variable {unknown[0]!r} (the variables it reads: {known})")
    return variables


def set_variables(connection: duckdb.DuckDBPyConnection, variables: Mapping[str, object]) -> None:
    """Make ``variables`` the connection's only ones (earlier ``SET VARIABLE``s are reset); the
    queries cast each to the type they need."""
    for (name,) in connection.execute("SELECT name FROM duckdb_variables()").fetchall():
        connection.execute(f'RESET VARIABLE "{name}"')
    for name, value in variables.items():
        if not _VARIABLE_NAME.match(name):
            raise CallscoreError(f"bad variable name {name!r}")
        connection.execute(f"SET VARIABLE {name} = ?", [None if value is None else str(value)])
