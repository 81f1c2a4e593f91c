-- call_scores keeps each evaluation's qa_score and mean_confidence unrounded from now on, so that
-- kpi_agents' mean QA score is the mean of the calls' exact scores, rounded once (views.sql,
-- kpi_round), not a mean of scores already rounded to 1 decimal. The table is refilled from the
-- views right after this migration (pipeline/warehouse.py, REBUILD_KPI_TABLES_AFTER).
COMMENT ON COLUMN call_scores.qa_score IS '0-100, unrounded; NULL when no criterion applied (kpi_calls rounds it to 1 decimal)';
COMMENT ON COLUMN call_scores.mean_confidence IS '0-1, unrounded (kpi_calls rounds it to 3 decimals)';
