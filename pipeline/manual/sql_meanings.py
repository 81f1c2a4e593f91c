"""What each table, view and column means, read from the comments beside the warehouse's SQL:
the comment lines right above a ``CREATE TABLE``, ``CREATE VIEW`` or ``ALTER TABLE ... ADD
COLUMN``, and a column's comment at the end of its line. A view defined as ``SELECT * FROM
name_of(NULL)`` takes the comment of its table macro ``name_of``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

_CREATE = re.compile(r"^CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|VIEW|MACRO)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
_ADD_COLUMN = re.compile(r"^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
_COLUMN_LINE = re.compile(r"^\s+(\w+)\s+[A-Z]+")
_SEQUENCE = re.compile(r"^CREATE\s+SEQUENCE\b", re.I)
_COMMENT_ON = re.compile(r"COMMENT\s+ON\s+(TABLE|VIEW|COLUMN)\s+([\w.]+)\s+IS\s+'((?:[^']|'')*)'", re.I)


@dataclass
class SqlObject:
    """A table or view as its SQL describes it: what it means, where it is defined, and what
    each column means (where its line says)."""

    name: str
    kind: str  # 'table' or 'view'
    meaning: str
    source: str
    columns: dict[str, str] = field(default_factory=dict)


def _comment(line: str) -> str | None:
    stripped = line.strip()
    return stripped[2:].strip() if stripped.startswith("--") else None


def _inline_comment(line: str) -> str:
    """The comment at the end of a line of SQL (none inside a quoted string is looked for)."""
    code, _, comment = line.partition("--")
    return comment.strip() if code.strip() else ""


def read_meanings(sources: Iterable[tuple[str, str]]) -> dict[str, SqlObject]:
    """Tables and views by name from ``(source name, SQL text)`` pairs, in the order they apply:
    a later comment replaces an earlier one."""
    objects: dict[str, SqlObject] = {}
    macros: dict[str, str] = {}
    for source, text in sources:
        _read_one(source, text, objects, macros)
        _read_comment_on(text, objects)
    for item in objects.values():
        if item.kind == "view" and not item.meaning and item.name + "_of" in macros:
            item.meaning = macros[item.name + "_of"]
    return objects


def _read_comment_on(text: str, objects: dict[str, SqlObject]) -> None:
    """``COMMENT ON`` statements (which DuckDB also keeps in its catalog) win over ``--`` comments."""
    for kind, name, comment in _COMMENT_ON.findall(text):
        comment = comment.replace("''", "'")
        if kind.upper() == "COLUMN":
            table, _, column = name.rpartition(".")
            if table in objects:
                objects[table].columns[column] = comment
        elif name in objects:
            objects[name].meaning = comment


def _read_one(source: str, text: str, objects: dict[str, SqlObject], macros: dict[str, str]) -> None:
    above: list[str] = []
    table: SqlObject | None = None  # the CREATE TABLE whose column lines are being read
    for line in text.splitlines():
        comment = _comment(line)
        if comment is not None:
            above.append(comment)
            continue
        if _SEQUENCE.match(line.strip()):
            continue  # a sequence the next table numbers its rows with: the comment above is the table's
        if table is not None:
            if line.strip().startswith(")"):
                table = None
            elif (column := _COLUMN_LINE.match(line)) and column.group(1).upper() not in ("PRIMARY", "UNIQUE"):
                meaning = _inline_comment(line) or " ".join(above)
                if meaning:
                    table.columns[column.group(1)] = meaning
            above = []
            continue
        if created := _CREATE.match(line.strip()):
            kind, name = created.group(1).lower(), created.group(2)
            meaning = " ".join(above)
            if kind == "macro":
                macros[name] = meaning
            else:
                previous = objects.get(name)
                item = SqlObject(name, kind, meaning or (previous.meaning if previous else ""), source,
                                 previous.columns if previous else {})
                objects[name] = item
                if kind == "table":
                    table = item
        elif added := _ADD_COLUMN.match(line.strip()):
            meaning = _inline_comment(line) or " ".join(above)
            if added.group(1) in objects and meaning:
                objects[added.group(1)].columns[added.group(2)] = meaning
            if _inline_comment(line):
                continue  # a block above several commented ALTERs stays with none of them
        above = []


def warehouse_sql(migrations_dir: Path, views_file: Path, extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The warehouse's SQL in the order it applies: the migrations, SQL the code runs itself
    (``extra``), then the views."""
    files = sorted(migrations_dir.glob("*.sql"))
    return ([(f"warehouse/migrations/{path.name}", path.read_text(encoding="utf-8")) for path in files]
            + list(extra) + [(f"warehouse/{views_file.name}", views_file.read_text(encoding="utf-8"))])
