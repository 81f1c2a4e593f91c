-- Which worker processed an evaluation (several machines can share one warehouse), and where a
-- run spent its time.
ALTER TABLE evaluations ADD COLUMN worker VARCHAR;          -- CALLSCORE_WORKER, or the host name
ALTER TABLE runs ADD COLUMN stage_seconds JSON;             -- total seconds per stage, e.g. {"transcribe": 12.3}
ALTER TABLE runs ADD COLUMN slowest_stage VARCHAR;          -- the stage with the most seconds
