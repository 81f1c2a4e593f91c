-- KPI views, re-created each time callscore opens the warehouse for writing.
-- Definitions: README "KPI definitions". A call's latest evaluation per scorecard version counts.

-- Scores of each recording's latest evaluation per scorecard version, with the call's facts.
CREATE OR REPLACE VIEW latest_scores AS
WITH latest AS (
    SELECT *, row_number() OVER (
        PARTITION BY recording_id, scorecard_version ORDER BY evaluated_at DESC, llm_model
    ) AS rank
    FROM evaluations
    WHERE status = 'scored'
)
SELECT s.*, r.file_name, r.path, r.agent, r.team, r.call_id, r.started_at,
       CAST(r.started_at AS DATE) AS call_date, r.duration_s, l.evaluated_at
FROM latest AS l
JOIN scores AS s USING (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
JOIN recordings AS r USING (recording_id)
WHERE l.rank = 1;

-- One row per call and scorecard version.
-- qa_score = 100 * sum(weight of passed) / sum(weight of applicable criteria).
CREATE OR REPLACE VIEW kpi_calls AS
SELECT recording_id, any_value(file_name) AS file_name, any_value(path) AS path,
       any_value(agent) AS agent, any_value(team) AS team, any_value(call_id) AS call_id,
       any_value(started_at) AS started_at, any_value(call_date) AS call_date,
       any_value(duration_s) AS duration_s,
       scorecard_name, scorecard_version, llm_model, whisper_model,
       round(100 * coalesce(sum(weight) FILTER (WHERE passed), 0)
             / nullif(sum(weight) FILTER (WHERE passed IS NOT NULL), 0), 1) AS qa_score,
       coalesce(bool_or(critical AND passed = false), false) AS critical_failed,
       count(*) FILTER (WHERE passed) AS criteria_passed,
       count(*) FILTER (WHERE passed = false) AS criteria_failed,
       count(*) FILTER (WHERE passed IS NULL) AS criteria_na,
       round(avg(confidence), 3) AS mean_confidence,
       any_value(evaluated_at) AS evaluated_at
FROM latest_scores
GROUP BY recording_id, scorecard_name, scorecard_version, llm_model, whisper_model;

-- One row per agent and scorecard version.
CREATE OR REPLACE VIEW kpi_agents AS
SELECT agent, any_value(team) AS team, scorecard_name, scorecard_version,
       count(*) AS calls,
       round(avg(qa_score), 1) AS mean_qa_score,
       count(*) FILTER (WHERE critical_failed) AS critical_failed_calls,
       round(count(*) FILTER (WHERE critical_failed) / count(*), 3) AS critical_fail_rate,
       min(started_at) AS first_call_at,
       max(started_at) AS last_call_at
FROM kpi_calls
GROUP BY agent, scorecard_name, scorecard_version;

-- One row per criterion and scorecard version. Low confidence: below 0.7.
CREATE OR REPLACE VIEW kpi_criteria AS
SELECT scorecard_name, scorecard_version, criterion_id,
       any_value(weight) AS weight, any_value(critical) AS critical,
       count(*) AS answers,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE passed = false) AS failed,
       count(*) FILTER (WHERE passed IS NULL) AS not_applicable,
       round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       round(count(*) FILTER (WHERE passed IS NULL) / count(*), 3) AS na_rate,
       round(avg(confidence), 3) AS mean_confidence,
       count(*) FILTER (WHERE confidence < 0.7) AS low_confidence_answers,
       count(*) FILTER (WHERE evidence_verified = false) AS unverified_evidence
FROM latest_scores
GROUP BY scorecard_name, scorecard_version, criterion_id;

-- One row per call day, scorecard version and criterion.
CREATE OR REPLACE VIEW kpi_daily AS
SELECT call_date AS day, scorecard_name, scorecard_version, criterion_id,
       count(*) AS calls,
       round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       round(count(*) FILTER (WHERE passed IS NULL) / count(*), 3) AS na_rate,
       round(avg(confidence), 3) AS mean_confidence
FROM latest_scores
GROUP BY call_date, scorecard_name, scorecard_version, criterion_id;
