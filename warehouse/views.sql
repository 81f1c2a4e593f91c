-- KPI views, re-created each time callscore opens the warehouse for writing.
-- Definitions: README "KPI definitions". A call's latest evaluation of each scorecard's current
-- version counts (version_scores keeps every version).

-- Scores of each recording's latest evaluation per scorecard version, with the call's facts:
-- every version, for comparing an old scorecard version with the new one.
CREATE OR REPLACE VIEW version_scores AS
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

-- The same for each scorecard's current version only (the version evaluated most recently):
-- what the KPI views below show, so a re-scored scorecard replaces the old one in them.
CREATE OR REPLACE VIEW latest_scores AS
WITH current_versions AS (
    SELECT scorecard_name, arg_max(scorecard_version, evaluated_at) AS scorecard_version
    FROM evaluations
    WHERE status = 'scored'
    GROUP BY scorecard_name
)
SELECT v.*
FROM version_scores AS v
JOIN current_versions AS c USING (scorecard_name, scorecard_version);

-- One row per call and scorecard version, with the call's conversation metrics.
-- qa_score = 100 * sum(weight of passed) / sum(weight of applicable criteria); NULL when no
-- criterion applied. critical_failed: a critical criterion was answered "no".
CREATE OR REPLACE VIEW kpi_calls AS
WITH calls AS (
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
           count(*) FILTER (WHERE confidence < 0.7) AS low_confidence_answers,
           any_value(evaluated_at) AS evaluated_at
    FROM latest_scores
    GROUP BY recording_id, scorecard_name, scorecard_version, llm_model, whisper_model
)
SELECT c.*,
       m.speaker_separated, m.conversation_s, m.talk_s, m.non_talk_s, m.non_talk_ratio, m.silences,
       m.longest_silence_s, m.overlap_s, m.words_per_minute,
       m.agent_talk_ratio, m.customer_talk_ratio, m.agent_words_per_minute, m.customer_words_per_minute,
       m.agent_interruptions, m.agent_interruption_s, m.customer_interruptions, m.customer_interruption_s,
       m.agent_longest_monologue_s, m.customer_longest_monologue_s, m.longest_monologue_s
FROM calls AS c
LEFT JOIN call_metrics AS m USING (recording_id, whisper_model);

-- Pass rate of each agent on each criterion (one row per agent, scorecard version and criterion).
CREATE OR REPLACE VIEW kpi_agent_criteria AS
SELECT agent, scorecard_name, scorecard_version, criterion_id,
       count(*) AS calls,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE passed = false) AS failed,
       count(*) FILTER (WHERE passed IS NULL) AS not_applicable,
       round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       round(avg(confidence), 3) AS mean_confidence
FROM latest_scores
GROUP BY agent, scorecard_name, scorecard_version, criterion_id;

-- One row per agent and scorecard version. criterion_pass_rates maps criterion id -> pass rate
-- (kpi_agent_criteria has the same figures as rows). Interruptions are the agent's own.
CREATE OR REPLACE VIEW kpi_agents AS
WITH per_agent AS (
    SELECT agent, any_value(team) AS team, scorecard_name, scorecard_version,
           count(*) AS calls,
           round(avg(qa_score), 1) AS mean_qa_score,
           count(*) FILTER (WHERE critical_failed) AS critical_failed_calls,
           round(count(*) FILTER (WHERE critical_failed) / count(*), 3) AS critical_fail_rate,
           round(avg(agent_talk_ratio), 3) AS mean_talk_ratio,
           round(avg(agent_interruptions), 2) AS interruptions_per_call,
           round(avg(customer_interruptions), 2) AS interrupted_per_call,
           round(avg(agent_words_per_minute), 1) AS mean_words_per_minute,
           round(avg(non_talk_ratio), 3) AS mean_non_talk_ratio,
           min(started_at) AS first_call_at,
           max(started_at) AS last_call_at
    FROM kpi_calls
    GROUP BY agent, scorecard_name, scorecard_version
),
rates AS (
    SELECT agent, scorecard_version,
           map_from_entries(list((criterion_id, pass_rate) ORDER BY criterion_id)) AS criterion_pass_rates
    FROM kpi_agent_criteria
    GROUP BY agent, scorecard_version
)
SELECT a.*, r.criterion_pass_rates
FROM per_agent AS a
LEFT JOIN rates AS r ON r.agent IS NOT DISTINCT FROM a.agent AND r.scorecard_version = a.scorecard_version;

-- One row per criterion and scorecard version. Low confidence: below 0.7. criterion_kind: 'llm' or 'rule'.
CREATE OR REPLACE VIEW kpi_criteria AS
SELECT scorecard_name, scorecard_version, criterion_id,
       any_value(weight) AS weight, any_value(critical) AS critical, any_value(criterion_kind) AS criterion_kind,
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

-- One row per call day (UTC), scorecard version and criterion.
CREATE OR REPLACE VIEW kpi_daily AS
SELECT call_date AS day, scorecard_name, scorecard_version, criterion_id,
       count(*) AS calls,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE passed = false) AS failed,
       round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       round(count(*) FILTER (WHERE passed IS NULL) / count(*), 3) AS na_rate,
       round(avg(confidence), 3) AS mean_confidence,
       count(*) FILTER (WHERE confidence < 0.7) AS low_confidence_answers
FROM latest_scores
GROUP BY call_date, scorecard_name, scorecard_version, criterion_id;
