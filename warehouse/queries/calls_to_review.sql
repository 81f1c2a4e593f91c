-- Answers a person should check first: failed critical criteria and low-confidence answers.
-- Low confidence is below 0.7; each row has the model's evidence (the cited line and when it starts,
-- or a quote). Critical failures first.
-- Variables: since (DATE, default 7 days ago).
SELECT s.started_at, s.agent, s.file_name, s.criterion_id,
       CASE WHEN s.passed IS NULL THEN 'n/a' WHEN s.passed THEN 'yes' ELSE 'no' END AS answer,
       s.critical AND s.passed = false AS critical_failure,
       kpi_round(s.confidence, 2) AS confidence, s.evidence, s.evidence_verified, s.recording_id,
       s.evidence_line, s.evidence_start_s, s.language, s.channel_layout
FROM latest_scores AS s
WHERE s.call_date >= coalesce(CAST(getvariable('since') AS DATE), current_date - 7)
  AND ((s.critical AND s.passed = false) OR s.confidence < 0.7)
ORDER BY critical_failure DESC, s.confidence ASC, s.started_at DESC;
