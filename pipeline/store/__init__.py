"""Store: the DuckDB warehouse, the staging folder of the nightly flow, and the bundled named queries."""
