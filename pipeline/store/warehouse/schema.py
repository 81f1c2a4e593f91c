"""The warehouse's schema: ordered migrations (``warehouse/migrations/NNN_name.sql``) recorded
in ``schema_migrations``, each applied in its own transaction, and the views of
``warehouse/views.sql``, re-created on every writable open."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import duckdb

from pipeline.errors import WarehouseError
from pipeline.resources import data_dir
from pipeline.speech.metrics import compute_metrics
from pipeline.store.warehouse.errors import migration_error

_MIGRATION_NAME = re.compile(r"^(\d+)_([\w-]+)\.sql$")
MIGRATIONS_TABLE_SQL = """
-- The migrations applied to this warehouse, one row each: what makes a DuckDB file a callscore warehouse.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,     -- the migration's number, NNN of warehouse/migrations/NNN_name.sql
    name       VARCHAR NOT NULL,        -- its file name
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)"""

# Migrations after which call_scores and criterion_totals are filled again from the views.
REBUILD_KPI_TABLES_AFTER = frozenset({6, 7, 9, 11})
# Migrations after which every transcript's call_metrics is computed again (a new measure).
REMEASURE_AFTER = frozenset({11})


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or data_dir("warehouse") / "migrations"
    found = []
    for path in directory.iterdir():
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"two migrations share a version number in {directory}")
    return found


class Schema:
    """The ``Warehouse`` methods that bring its schema up to date."""

    def check_is_callscore(self) -> None:
        """Refuse a DuckDB file that holds tables or views but no ``schema_migrations``: someone
        else's database, which a callscore run must neither read as a warehouse nor write into."""
        names = sorted(row[0] for row in self.connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall())
        if names and "schema_migrations" not in names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise WarehouseError(f"{self.path} is a DuckDB database but not a callscore warehouse (it holds {shown}): "
                                 "give --db a new file or a callscore warehouse")

    def applied_migrations(self) -> list[int]:
        self.connection.execute(MIGRATIONS_TABLE_SQL)
        return [row[0] for row in self.connection.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]

    def pending_migrations(self) -> list[int]:
        """Versions this callscore knows that the warehouse lacks (read-only safe)."""
        try:
            applied = {row[0] for row in self.connection.execute("SELECT version FROM schema_migrations").fetchall()}
        except duckdb.CatalogException:
            applied = set()
        return [m.version for m in migrations() if m.version not in applied]

    def migrate(self, available: Sequence[Migration] | None = None) -> list[int]:
        """Apply pending migrations in order and re-create the views; returns versions applied."""
        available = list(available if available is not None else migrations())
        # While migrations are pending, every commit below goes straight into the database file
        # (a checkpoint) instead of the write-ahead log: DuckDB 1.x cannot replay some migration
        # DDL from the log (ALTER TABLE ... DEFAULT nextval fails with an internal error), so a
        # run killed or out of disk before its next checkpoint would leave a warehouse that no
        # longer opens. (The views, re-created on every open, replay fine; about 0.15 s a new warehouse.)
        try:
            applied = set(self.applied_migrations())
            if any(m.version not in applied for m in available):
                self.connection.execute("SET checkpoint_threshold = '0b'")
            known = {m.version for m in available}
            unknown = sorted(applied - known)
            if unknown:
                raise WarehouseError(
                    f"warehouse {self.path} has schema version {unknown[-1]}, newer than this callscore knows: upgrade callscore"
                )
            done = []
            for migration in available:
                if migration.version in applied:
                    continue
                with self.transaction():
                    self.connection.execute(migration.path.read_text(encoding="utf-8"))
                    self.connection.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [migration.version, migration.name]
                    )
                done.append(migration.version)
            self.connection.execute((data_dir("warehouse") / "views.sql").read_text(encoding="utf-8"))
            self.backfill_metrics(every=bool(REMEASURE_AFTER & set(done)))
            if REBUILD_KPI_TABLES_AFTER & set(done):
                self.rebuild_kpi_tables()
        except duckdb.Error as exc:
            raise migration_error(self.path, exc) from exc
        finally:
            self.connection.execute("RESET checkpoint_threshold")
        return done

    def backfill_metrics(self, *, every: bool = False) -> int:
        """Compute ``call_metrics`` for transcripts stored before metrics existed (``every``: for
        every transcript, after a migration that adds a measure); returns how many."""
        missing = self.connection.execute(
            "SELECT t.recording_id, t.whisper_model, t.language FROM transcripts AS t"
            + ("" if every else " ANTI JOIN call_metrics AS m USING (recording_id, whisper_model)")
            + " WHERE t.segment_count > 0"
        ).fetchall()
        for recording_id, whisper_model, language in missing:
            metrics = compute_metrics(self.stored_transcript(recording_id, whisper_model) or (), language=language)
            if metrics is not None:
                with self.transaction():
                    self._upsert_metrics(recording_id, whisper_model, metrics)
                    self._recount_recording(recording_id)
        return len(missing)
