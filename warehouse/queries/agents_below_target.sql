-- Agents whose pass rate on one criterion is below target over recent calls.
-- Variables: criterion (default 'verified_identity'), target (0-1, default 0.9),
-- since (DATE, default 30 days ago), min_calls (calls the agent needs to be judged, default 1).
SELECT agent, criterion_id,
       count(*) AS calls,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE passed = false) AS failed,
       kpi_round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       coalesce(CAST(getvariable('target') AS DOUBLE), 0.9) AS target
FROM latest_scores
WHERE criterion_id = coalesce(CAST(getvariable('criterion') AS VARCHAR), 'verified_identity')
  AND call_date >= coalesce(CAST(getvariable('since') AS DATE), current_date - 30)
GROUP BY agent, criterion_id
HAVING count(passed) >= coalesce(CAST(getvariable('min_calls') AS INTEGER), 1)
   AND count(*) FILTER (WHERE passed) / count(passed) < coalesce(CAST(getvariable('target') AS DOUBLE), 0.9)
ORDER BY pass_rate ASC, agent;
