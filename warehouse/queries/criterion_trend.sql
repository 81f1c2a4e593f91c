-- Weekly pass rate of one criterion, oldest week first: is coaching working?
-- Variables: criterion (default 'verified_identity'), weeks (default 12).
SELECT CAST(date_trunc('week', call_date) AS DATE) AS week, criterion_id,
       count(*) AS calls,
       count(*) FILTER (WHERE passed) AS passed,
       kpi_round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       kpi_round(avg(confidence), 3) AS mean_confidence
FROM latest_scores
WHERE criterion_id = coalesce(CAST(getvariable('criterion') AS VARCHAR), 'verified_identity')
  AND call_date >= date_trunc('week', current_date) - INTERVAL 7 DAY * (coalesce(CAST(getvariable('weeks') AS INTEGER), 12) - 1)
GROUP BY ALL
ORDER BY week;
