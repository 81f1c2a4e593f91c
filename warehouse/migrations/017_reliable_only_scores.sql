-- A scorecard may ask for a second QA score over its reliable criteria only (scorecard
-- `score_only_reliable: true`, docs/calibration.md "Only trusted criteria in the score"): each run records
-- whether its scorecard asked, and the views read the scorecard's latest run (view
-- reliable_only_scorecards). NULL: a run from before this migration.
ALTER TABLE runs ADD COLUMN score_only_reliable BOOLEAN;
