"""The page of every table and view of a freshly migrated warehouse, with its columns and what
they mean: the names and types from DuckDB's catalog, the meanings from the comments beside the
SQL (``sql_meanings``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.manual.markdown import GENERATED_NOTE, code, inline, table
from pipeline.manual.sql_meanings import SqlObject, read_meanings, warehouse_sql
from pipeline.resources import data_dir
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.schema import MIGRATIONS_TABLE_SQL


@dataclass(frozen=True)
class CatalogObject:
    """A table or view as a migrated warehouse has it: its columns and their DuckDB types, in order."""

    name: str
    kind: str  # 'table' or 'view'
    columns: tuple[tuple[str, str], ...]


def catalog(path: Path) -> list[CatalogObject]:
    """The tables and views of a new warehouse migrated at ``path`` (a file that does not exist yet)."""
    with Warehouse.open(path) as warehouse:
        rows = warehouse.connection.execute(
            "SELECT c.table_name, CASE WHEN v.view_name IS NULL THEN 'table' ELSE 'view' END, c.column_name,"
            " c.data_type FROM duckdb_columns() AS c"
            " LEFT JOIN duckdb_views() AS v ON v.view_name = c.table_name AND v.schema_name = c.schema_name"
            "  AND v.database_name = c.database_name"
            " WHERE c.database_name = current_database() AND c.schema_name = 'main' AND NOT c.internal"
            " ORDER BY 2, 1, c.column_index").fetchall()
    objects: dict[str, CatalogObject] = {}
    for name, kind, column, data_type in rows:
        known = objects.get(name, CatalogObject(name, kind, ()))
        objects[name] = CatalogObject(name, kind, known.columns + ((column, data_type),))
    return list(objects.values())


def sql_meanings() -> dict[str, SqlObject]:
    """What the warehouse's SQL says each table, view and column means."""
    warehouse = data_dir("warehouse")
    extra = [("pipeline/store/warehouse/schema.py", MIGRATIONS_TABLE_SQL)]
    return read_meanings(warehouse_sql(warehouse / "migrations", warehouse / "views.sql", extra))


def _section(item: CatalogObject, described: SqlObject | None) -> list[str]:
    meaning = described.meaning if described else ""
    source = f" Defined in `{described.source}`." if described else ""
    columns = described.columns if described else {}
    rows = [(code(name), code(data_type), inline(columns.get(name, ""))) for name, data_type in item.columns]
    return [f"### {item.name} {{ #{item.name} }}", "", inline(meaning) + source, "",
            table(("Column", "Type", "Meaning"), rows), ""]


def warehouse_page(objects: list[CatalogObject], meanings: dict[str, SqlObject]) -> str:
    """The Markdown of the warehouse reference."""
    out = ["# Warehouse tables and views", "", GENERATED_NOTE, "",
           "Every table and view of a warehouse that this callscore has migrated, with its columns in order."
           " Analysts read the views (`kpi_calls`, `kpi_agents`, `kpi_criteria` first); the tables are what a run"
           " writes. What the KPI figures mean and how they are rounded: [The warehouse](../warehouse.md).", ""]
    for kind, heading in (("view", "## Views"), ("table", "## Tables")):
        out += [heading, ""]
        for item in objects:
            if item.kind == kind:
                out += _section(item, meanings.get(item.name))
    return "\n".join(out).rstrip() + "\n"
