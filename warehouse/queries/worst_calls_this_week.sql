-- The calls to listen to first this week: critical failures, then the lowest QA scores.
-- Variables (SET VARIABLE name = value; first): since (DATE, default 7 days ago), max_calls (default 20).
SELECT c.started_at, c.agent, c.team, c.file_name, c.qa_score, c.critical_failed,
       (SELECT string_agg(s.criterion_id, ', ' ORDER BY s.criterion_id)
          FROM latest_scores AS s
         WHERE s.recording_id = c.recording_id AND s.scorecard_version = c.scorecard_version
           AND s.passed = false) AS failed_criteria,
       c.mean_confidence, c.recording_id
FROM kpi_calls AS c
WHERE c.call_date >= coalesce(CAST(getvariable('since') AS DATE), current_date - 7)
ORDER BY c.critical_failed DESC, c.qa_score ASC NULLS LAST, c.started_at DESC
LIMIT coalesce(CAST(getvariable('max_calls') AS INTEGER), 20);
