-- KPI views, re-created each time callscore opens the warehouse for writing.
-- Definitions: docs/warehouse.md "KPI definitions". A call's latest evaluation of each scorecard's current
-- version counts (version_scores keeps every version).
--
-- So that they answer in a fraction of a second over millions of calls, the views read two tables
-- that each call's write keeps up to date in its own transaction (migration 006,
-- pipeline/store/warehouse.py): call_scores, one row per scored evaluation with its figures, the
-- call's facts and conversation measures, and whether it is the recording's latest evaluation of
-- its scorecard version; and criterion_totals, the answers of those latest evaluations counted
-- per agent, scorecard version and criterion. The first four views say what those two tables
-- hold. Each write and Warehouse.rebuild_kpi_tables fill the tables from them, so a change to
-- one of them needs a migration after which the tables are rebuilt; so do rows loaded into the
-- base tables other than by Warehouse.save_call.

-- How every KPI figure is rounded (docs/warehouse.md "KPI definitions"): half away from zero, on the value
-- first fixed to 9 decimal places, so that binary noise (83.35 held as 83.34999...) cannot move a
-- tie, and DuckDB 1.x and 2.x (which round a DOUBLE differently) give the same figure. Means are
-- taken of unrounded values and rounded once, here.
CREATE OR REPLACE MACRO kpi_round(x, places) AS CAST(round(CAST(x AS DECIMAL(38, 9)), places) AS DOUBLE);

-- A call's QA score from its answers (aggregates, over one evaluation's rows): 100 * sum(weight
-- of passed) / sum(weight of applicable criteria); NULL when no criterion applied. Its critical
-- failure: a critical criterion was answered "no" (passed false).
CREATE OR REPLACE MACRO qa_score_of(weight, passed) AS
    100 * coalesce(sum(weight) FILTER (WHERE passed), 0) / nullif(sum(weight) FILTER (WHERE passed IS NOT NULL), 0);
CREATE OR REPLACE MACRO critical_failed_of(critical, passed) AS coalesce(bool_or(critical AND passed = false), false);

-- One evaluation's answers summed up, unrounded (kpi_calls rounds them): the machine's QA score
-- and critical failure (qa_score_of, critical_failed_of). Low confidence: below 0.7.
CREATE OR REPLACE VIEW evaluation_figures AS
SELECT evaluation_id,
       count(*) AS answers,
       qa_score_of(weight, passed) AS qa_score, critical_failed_of(critical, passed) AS critical_failed,
       count(*) FILTER (WHERE passed) AS criteria_passed,
       count(*) FILTER (WHERE passed = false) AS criteria_failed,
       count(*) FILTER (WHERE passed IS NULL) AS criteria_na,
       avg(CAST(confidence AS DECIMAL(18, 12))) AS mean_confidence,  -- exact sum: the same every time
       count(*) FILTER (WHERE confidence < 0.7) AS low_confidence_answers
FROM scores
GROUP BY evaluation_id;

-- What call_scores holds: every scored evaluation of a stored recording with its figures, the
-- recording's facts and the conversation measures of its transcript. is_latest: the recording's
-- latest evaluation of that scorecard version, so a later one (another LLM, say) replaces it.
CREATE OR REPLACE VIEW call_scores_source AS
SELECT e.evaluation_id, e.recording_id, e.whisper_model, e.scorecard_version, e.prompt_version, e.llm_model,
       e.scorecard_name, e.evaluated_at,
       row_number() OVER (
           PARTITION BY e.recording_id, e.scorecard_version ORDER BY e.evaluated_at DESC, e.llm_model
       ) = 1 AS is_latest,
       coalesce(f.answers, 0) AS answers, f.qa_score, coalesce(f.critical_failed, false) AS critical_failed,
       coalesce(f.criteria_passed, 0) AS criteria_passed, coalesce(f.criteria_failed, 0) AS criteria_failed,
       coalesce(f.criteria_na, 0) AS criteria_na, f.mean_confidence,
       coalesce(f.low_confidence_answers, 0) AS low_confidence_answers,
       r.file_name, r.path, r.agent, r.team, r.call_id, r.started_at, r.duration_s, r.channel_layout,
       t.language, t.language_probability, t.mixed_language, t.language_suspect,
       m.speaker_separated, m.conversation_s, m.talk_s, m.non_talk_s, m.non_talk_ratio, m.silences,
       m.longest_silence_s, m.overlap_s, m.words_per_minute,
       m.agent_talk_ratio, m.customer_talk_ratio, m.agent_words_per_minute, m.customer_words_per_minute,
       m.agent_interruptions, m.agent_interruption_s, m.customer_interruptions, m.customer_interruption_s,
       m.agent_longest_monologue_s, m.customer_longest_monologue_s, m.longest_monologue_s,
       m.customer_sentiment_first, m.customer_sentiment_last, m.customer_sentiment_change
FROM evaluations AS e
JOIN recordings AS r USING (recording_id)
LEFT JOIN evaluation_figures AS f USING (evaluation_id)
LEFT JOIN transcripts AS t USING (recording_id, whisper_model)
LEFT JOIN call_metrics AS m USING (recording_id, whisper_model)
WHERE e.status = 'scored';

-- What each answer adds to the counts of criterion_totals.
CREATE OR REPLACE VIEW answer_counts AS
SELECT evaluation_id, scorecard_name, scorecard_version, criterion_id, weight, critical, criterion_kind,
       1 AS answers,
       CAST(passed IS TRUE AS BIGINT) AS passed,
       CAST(passed IS FALSE AS BIGINT) AS failed,
       CAST(passed IS NULL AS BIGINT) AS not_applicable,
       CAST(confidence IS NOT NULL AS BIGINT) AS confidences,
       CAST(coalesce(confidence, 0) AS DECIMAL(38, 12)) AS confidence_sum,
       CAST(coalesce(confidence < 0.7, false) AS BIGINT) AS low_confidence_answers,
       CAST(evidence_verified IS FALSE AS BIGINT) AS unverified_evidence
FROM scores;

-- The answers that count, those of each recording's latest evaluation per scorecard version,
-- with the call's agent. criterion_totals holds the sums of their counts per agent, scorecard
-- version and criterion.
CREATE OR REPLACE VIEW counted_answers AS
SELECT c.recording_id, c.agent, a.*
FROM call_scores AS c
JOIN answer_counts AS a USING (evaluation_id)
WHERE c.is_latest;

-- Each scorecard's current version: the version evaluated most recently.
CREATE OR REPLACE VIEW current_versions AS
SELECT scorecard_name, arg_max(scorecard_version, evaluated_at) AS scorecard_version
FROM evaluations
WHERE status = 'scored'
GROUP BY scorecard_name;

-- The latest evaluation of each call by each scorecard's current version: what the KPI views
-- below show, so a re-scored scorecard replaces the old one in them.
CREATE OR REPLACE VIEW current_calls AS
SELECT c.*
FROM call_scores AS c
SEMI JOIN current_versions AS v USING (scorecard_name, scorecard_version)
WHERE c.is_latest;

-- Scores of each recording's latest evaluation per scorecard version, with the call's facts:
-- every version, for comparing an old scorecard version with the new one.
CREATE OR REPLACE VIEW version_scores AS
SELECT s.*, c.file_name, c.path, c.agent, c.team, c.call_id, c.started_at,
       CAST(c.started_at AS DATE) AS call_date, c.duration_s, c.evaluated_at
FROM scores AS s
JOIN call_scores AS c USING (evaluation_id)
WHERE c.is_latest;

-- The same for each scorecard's current version only.
CREATE OR REPLACE VIEW latest_scores AS
SELECT s.*, c.file_name, c.path, c.agent, c.team, c.call_id, c.started_at,
       CAST(c.started_at AS DATE) AS call_date, c.duration_s, c.evaluated_at, c.language, c.channel_layout
FROM scores AS s
JOIN current_calls AS c USING (evaluation_id);

-- The answer people gave to each reviewed answer of a call (reviews, migration 013; a
-- calibration's blind answers, migration 016, are left out): each reviewer's latest review of it counts; when reviewers differ, the answer most of them gave,
-- and among equals the most recent. overruled: that answer is not the machine's.
-- The review views each have a table macro NAME_of(recordings) behind them, which reads only the
-- reviews of a list of recording ids (NULL: all): the desk's pages read their few calls' reviews
-- so, without going through every review in the warehouse.
CREATE OR REPLACE MACRO reviewed_answers_of(wanted) AS TABLE
WITH latest AS (
    SELECT * FROM reviews
    WHERE (wanted IS NULL OR list_contains(wanted, recording_id)) AND calibration_id IS NULL
    QUALIFY row_number() OVER (PARTITION BY recording_id, scorecard_version, item_kind, item_id, reviewer
                               ORDER BY reviewed_at DESC, review_id DESC) = 1
), tallied AS (
    SELECT recording_id, scorecard_version, item_kind, item_id, answer,
           count(*) AS votes, max(reviewed_at) AS last_at, max(review_id) AS last_id,
           arg_max(reviewer, review_id) AS last_reviewer, arg_max(machine_answer, review_id) AS machine_answer
    FROM latest
    GROUP BY ALL
)
SELECT recording_id, scorecard_version, item_kind, item_id, answer, machine_answer,
       answer IS DISTINCT FROM machine_answer AS overruled, last_reviewer AS reviewer,
       sum(votes) OVER (PARTITION BY recording_id, scorecard_version, item_kind, item_id) AS reviewers,
       last_at AS reviewed_at
FROM tallied
QUALIFY row_number() OVER (PARTITION BY recording_id, scorecard_version, item_kind, item_id
                           ORDER BY votes DESC, last_at DESC, last_id DESC) = 1;
CREATE OR REPLACE VIEW reviewed_answers AS SELECT * FROM reviewed_answers_of(NULL);

-- The verdicts people reviewed, beside the machine's answer in the recording's latest evaluation
-- of that scorecard version (a few rows: only what was reviewed). passed: the answer that counts
-- (yes true, no false, n.a. NULL); overruled: it is not the machine's (as stored now, so a call
-- scored again after its review is compared with its new answer).
CREATE OR REPLACE MACRO reviewed_verdicts_of(wanted) AS TABLE
SELECT s.evaluation_id, s.recording_id, s.scorecard_name, s.scorecard_version, s.criterion_id, c.agent,
       CAST(c.started_at AS DATE) AS call_date, s.weight, s.critical, s.passed AS machine_passed,
       CASE r.answer WHEN 'yes' THEN true WHEN 'no' THEN false END AS passed,
       (CASE r.answer WHEN 'yes' THEN true WHEN 'no' THEN false END) IS DISTINCT FROM s.passed AS overruled,
       r.reviewer, r.reviewers, r.reviewed_at
FROM reviewed_answers_of(wanted) AS r
JOIN call_scores AS c ON c.recording_id = r.recording_id AND c.scorecard_version = r.scorecard_version AND c.is_latest
JOIN scores AS s ON s.evaluation_id = c.evaluation_id AND s.criterion_id = r.item_id
WHERE r.item_kind = 'criterion';
CREATE OR REPLACE VIEW reviewed_verdicts AS SELECT * FROM reviewed_verdicts_of(NULL);

-- How reviews change the machine's counts, per agent, scorecard version and criterion: the
-- answers reviewed and overruled, and how many more (or fewer) passed, failed and n.a. answers
-- count once people's answers replace the machine's.
CREATE OR REPLACE VIEW reviewed_verdict_counts AS
SELECT agent, scorecard_name, scorecard_version, criterion_id,
       count(*) AS reviewed_answers,
       count(*) FILTER (WHERE overruled) AS overruled_answers,
       sum(CAST(passed IS TRUE AS BIGINT) - CAST(machine_passed IS TRUE AS BIGINT)) AS passed_change,
       sum(CAST(passed IS FALSE AS BIGINT) - CAST(machine_passed IS FALSE AS BIGINT)) AS failed_change,
       sum(CAST(passed IS NULL AS BIGINT) - CAST(machine_passed IS NULL AS BIGINT)) AS na_change
FROM reviewed_verdicts
GROUP BY ALL;

-- The answer that counts per call and criterion: a person's (reviewed_answers) over the
-- machine's. One row per answer of latest_scores; source 'review' or 'machine'.
CREATE OR REPLACE VIEW verdicts_that_count AS
SELECT s.evaluation_id, s.recording_id, s.scorecard_name, s.scorecard_version, s.criterion_id, s.weight, s.critical,
       s.call_date, s.agent, s.confidence, s.passed AS machine_passed,
       CASE WHEN v.evaluation_id IS NULL THEN s.passed ELSE v.passed END AS passed,
       CASE WHEN v.evaluation_id IS NULL THEN 'machine' ELSE 'review' END AS source,
       coalesce(v.overruled, false) AS overruled, v.reviewer
FROM latest_scores AS s
LEFT JOIN reviewed_verdicts AS v USING (evaluation_id, criterion_id);

-- The figures of each evaluation with reviewed verdicts, from the answers that count (as
-- evaluation_figures sums the machine's). includes_manual_edits: a person overruled one. Keyed
-- by recording too, so that a query of a few recordings reads only their reviews.
CREATE OR REPLACE MACRO reviewed_evaluation_figures_of(wanted) AS TABLE
WITH verdicts AS (SELECT * FROM reviewed_verdicts_of(wanted)),
reviewed AS (SELECT DISTINCT recording_id, evaluation_id FROM verdicts),
answers AS (
    SELECT r.recording_id, s.evaluation_id, s.criterion_id, s.weight, s.critical,
           CASE WHEN v.evaluation_id IS NULL THEN s.passed ELSE v.passed END AS passed,
           v.evaluation_id IS NOT NULL AS reviewed, coalesce(v.overruled, false) AS overruled
    FROM reviewed AS r
    JOIN scores AS s USING (evaluation_id)
    LEFT JOIN verdicts AS v USING (evaluation_id, criterion_id)
)
SELECT recording_id, evaluation_id,
       qa_score_of(weight, passed) AS qa_score, critical_failed_of(critical, passed) AS critical_failed,
       count(*) FILTER (WHERE passed) AS criteria_passed,
       count(*) FILTER (WHERE passed = false) AS criteria_failed,
       count(*) FILTER (WHERE passed IS NULL) AS criteria_na,
       count(*) FILTER (WHERE reviewed) AS reviewed_answers,
       bool_or(overruled) AS includes_manual_edits
FROM answers
GROUP BY recording_id, evaluation_id;
CREATE OR REPLACE VIEW reviewed_evaluation_figures AS SELECT * FROM reviewed_evaluation_figures_of(NULL);

-- How each reviewed call came to be reviewed: as the review queue first gave it (review_assignments:
-- 'random' or 'doubtful'), else 'picked' (a reviewer opened it themselves).
CREATE OR REPLACE VIEW review_choices AS
SELECT recording_id, scorecard_version, arg_min(chosen_as, assignment_id) AS chosen_as
FROM review_assignments
GROUP BY recording_id, scorecard_version;

-- Each reviewed answer beside the machine's answer now (in the recording's latest evaluation of
-- that scorecard version): human and machine as yes / no / na for a criterion, the option for a
-- choice field (text fields are not compared), with the machine's confidence, LLM and prompt, and
-- how the call was chosen for review (review_choices).
CREATE OR REPLACE VIEW review_pairs AS
SELECT r.recording_id, c.file_name, r.scorecard_version, c.scorecard_name, r.item_kind, r.item_id,
       CASE r.answer WHEN 'n.a.' THEN 'na' ELSE r.answer END AS human,
       CASE WHEN r.item_kind = 'criterion'
            THEN CASE WHEN s.passed IS NULL THEN 'na' WHEN s.passed THEN 'yes' ELSE 'no' END
            ELSE x.value END AS machine,
       coalesce(s.confidence, x.confidence) AS confidence, c.llm_model, c.prompt_version, r.reviewer, r.reviewed_at,
       coalesce(q.chosen_as, 'picked') AS chosen_as
FROM reviewed_answers AS r
LEFT JOIN review_choices AS q ON q.recording_id = r.recording_id AND q.scorecard_version = r.scorecard_version
JOIN call_scores AS c ON c.recording_id = r.recording_id AND c.scorecard_version = r.scorecard_version AND c.is_latest
LEFT JOIN scores AS s ON r.item_kind = 'criterion' AND s.evaluation_id = c.evaluation_id AND s.criterion_id = r.item_id
LEFT JOIN extractions AS x ON r.item_kind = 'field' AND x.evaluation_id = c.evaluation_id AND x.field_id = r.item_id
WHERE s.evaluation_id IS NOT NULL OR x.field_kind = 'choice';

-- The machine's agreement with the answers people gave, per scorecard version and criterion (or
-- field), as `callscore eval` measures against a labels file, live: over every reviewed answer
-- (sample 'all', which leans to the doubtful answers the queue gives) and over the answers of the
-- calls the queue drew at random (sample 'random': an honest estimate). kappa: Cohen's, NULL when
-- chance agreement is 1 (one class on both sides).
CREATE OR REPLACE VIEW review_agreement AS
WITH pairs AS (
    SELECT *, 'all' AS sample FROM review_pairs
    UNION ALL
    SELECT *, 'random' AS sample FROM review_pairs WHERE chosen_as = 'random'
), totals AS (
    SELECT sample, scorecard_name, scorecard_version, item_id, count(*) AS answers,
           avg(CAST(human = machine AS DOUBLE)) AS agreement, max(reviewed_at) AS measured_at,
           string_agg(DISTINCT prompt_version, ', ' ORDER BY prompt_version) AS prompt_version,
           string_agg(DISTINCT llm_model, ', ' ORDER BY llm_model) AS llm_model
    FROM pairs GROUP BY sample, scorecard_name, scorecard_version, item_id
), humans AS (
    SELECT sample, scorecard_version, item_id, human AS answer, count(*) AS n FROM pairs GROUP BY ALL
), machines AS (
    SELECT sample, scorecard_version, item_id, machine AS answer, count(*) AS n FROM pairs GROUP BY ALL
), chance AS (
    SELECT h.sample, h.scorecard_version, h.item_id, sum(h.n * m.n) AS products
    FROM humans AS h JOIN machines AS m USING (sample, scorecard_version, item_id, answer) GROUP BY ALL
), majority AS (
    SELECT sample, scorecard_version, item_id, max(n) AS most FROM humans GROUP BY ALL
)
SELECT t.sample, t.scorecard_name, t.scorecard_version, t.item_id AS criterion_id, t.measured_at, t.prompt_version,
       t.llm_model, t.answers, t.agreement,
       CASE WHEN coalesce(c.products, 0) < t.answers * t.answers
            THEN (t.agreement - coalesce(c.products, 0) / (t.answers * t.answers))
                 / (1 - coalesce(c.products, 0) / (t.answers * t.answers)) END AS kappa,
       m.most / t.answers AS majority_baseline
FROM totals AS t
LEFT JOIN chance AS c USING (sample, scorecard_version, item_id)
LEFT JOIN majority AS m USING (sample, scorecard_version, item_id);

-- How far each criterion (and field) can be trusted, per scorecard version: measured against the
-- reviews people gave in the desk when it has any (kept current as reviews land): on the random
-- sample once it holds 20 answers (source 'random sample'), else on all of them (source
-- 'reviews'); else its latest `callscore eval --labels` measurement (source 'labels', with the
-- file). trust: 'reliable' (Cohen's kappa 0.4 or more on 20 reviewed or labelled answers or more),
-- 'not reliable' (kappa below 0.4, undefined because both sides held one class only, or fewer than
-- 20) or, in kpi_criteria, 'not measured' (the 20 is RELIABLE_MIN_LABELS of
-- pipeline/store/warehouse/agreement_ledger.py, which explains a mark).
CREATE OR REPLACE VIEW criterion_trust AS
WITH labelled AS (
    SELECT scorecard_name, scorecard_version, criterion_id, measured_at, prompt_version, llm_model, answers, agreement,
           kappa, majority_baseline, labels_file, 'labels' AS source
    FROM criterion_agreement
    QUALIFY row_number() OVER (PARTITION BY scorecard_version, criterion_id ORDER BY measurement_id DESC) = 1
), reviewed AS (
    SELECT scorecard_name, scorecard_version, criterion_id, measured_at, prompt_version, llm_model, answers, agreement,
           kappa, majority_baseline, NULL AS labels_file,
           CASE sample WHEN 'random' THEN 'random sample' ELSE 'reviews' END AS source
    FROM review_agreement
    WHERE sample = 'all' OR answers >= 20
    QUALIFY row_number() OVER (PARTITION BY scorecard_version, criterion_id ORDER BY sample = 'random' DESC) = 1
), measured AS (
    SELECT * FROM reviewed
    UNION ALL BY NAME
    SELECT * FROM labelled AS l
    WHERE NOT EXISTS (SELECT 1 FROM reviewed AS r
                      WHERE r.scorecard_version = l.scorecard_version AND r.criterion_id = l.criterion_id)
)
SELECT scorecard_name, scorecard_version, criterion_id, measured_at, prompt_version, llm_model,
       answers AS labelled_answers, kpi_round(agreement, 3) AS agreement, kpi_round(kappa, 3) AS kappa,
       kpi_round(majority_baseline, 3) AS majority_baseline, labels_file, source,
       CASE WHEN kappa >= 0.4 AND answers >= 20 THEN 'reliable' ELSE 'not reliable' END AS trust
FROM measured;

-- The scorecards that ask for qa_score_reliable (scorecard `score_only_reliable: true`), as
-- their latest run that said (runs.score_only_reliable, migration 017).
CREATE OR REPLACE VIEW reliable_only_scorecards AS
SELECT scorecard_name
FROM runs
WHERE score_only_reliable IS NOT NULL
GROUP BY scorecard_name
HAVING arg_max(score_only_reliable, started_at);

-- The criteria counted in qa_score_reliable: those marked reliable (criterion_trust) in the
-- scorecards that ask for it.
CREATE OR REPLACE VIEW reliable_criteria AS
SELECT t.scorecard_name, t.scorecard_version, t.criterion_id
FROM criterion_trust AS t
SEMI JOIN reliable_only_scorecards USING (scorecard_name)
WHERE t.trust = 'reliable';

-- Each current evaluation's QA score over its reliable criteria only (qa_score_of), from the
-- answers that count; no row when its scorecard does not ask or none of its criteria is reliable.
-- The macro reads a list of recording ids (NULL: all), as the review views' macros do.
CREATE OR REPLACE MACRO reliable_evaluation_scores_of(wanted) AS TABLE
SELECT c.recording_id, c.evaluation_id,
       qa_score_of(s.weight, CASE WHEN v.evaluation_id IS NULL THEN s.passed ELSE v.passed END) AS qa_score_reliable,
       count(*) AS reliable_answers
FROM scores AS s
JOIN current_calls AS c USING (evaluation_id)
SEMI JOIN reliable_criteria AS r ON r.scorecard_version = c.scorecard_version AND r.criterion_id = s.criterion_id
LEFT JOIN reviewed_verdicts_of(wanted) AS v ON v.evaluation_id = s.evaluation_id AND v.criterion_id = s.criterion_id
WHERE wanted IS NULL OR list_contains(wanted, c.recording_id)
GROUP BY c.recording_id, c.evaluation_id;
CREATE OR REPLACE VIEW reliable_evaluation_scores AS SELECT * FROM reliable_evaluation_scores_of(NULL);

-- The calls the KPI views count: current_calls with at least one answer, figures unrounded and
-- from the answers that count (a reviewed call's QA score is worked out again from them;
-- machine_qa_score keeps the machine's). reviewed_answers: how many of its verdicts people
-- reviewed; includes_manual_edits: one of them was overruled; qa_score_reliable: the score over
-- the reliable criteria only, when the scorecard asks (reliable_evaluation_scores), else NULL.
CREATE OR REPLACE VIEW scored_calls AS
SELECT c.* REPLACE (
           CASE WHEN f.evaluation_id IS NULL THEN c.qa_score ELSE f.qa_score END AS qa_score,
           coalesce(f.critical_failed, c.critical_failed) AS critical_failed,
           coalesce(f.criteria_passed, c.criteria_passed) AS criteria_passed,
           coalesce(f.criteria_failed, c.criteria_failed) AS criteria_failed,
           coalesce(f.criteria_na, c.criteria_na) AS criteria_na),
       c.qa_score AS machine_qa_score,
       coalesce(f.reviewed_answers, 0) AS reviewed_answers,
       coalesce(f.includes_manual_edits, false) AS includes_manual_edits,
       q.qa_score_reliable,
       CAST(c.started_at AS DATE) AS call_date
FROM current_calls AS c
LEFT JOIN reviewed_evaluation_figures AS f USING (evaluation_id)
LEFT JOIN reliable_evaluation_scores AS q USING (evaluation_id)
WHERE c.answers > 0;

-- One row per call and scorecard version, with the call's conversation metrics.
-- qa_score 0-100 (NULL when no criterion applied; 1 decimal) and critical_failed: see
-- evaluation_figures, from the answers that count (scored_calls); machine_qa_score: the machine's;
-- qa_score_reliable: over the reliable criteria only, when the scorecard asks (else NULL).
CREATE OR REPLACE VIEW kpi_calls AS
SELECT recording_id, file_name, path, agent, team, call_id, started_at, call_date,
       duration_s, channel_layout, language, kpi_round(language_probability, 3) AS language_probability,
       mixed_language, language_suspect, scorecard_name, scorecard_version, llm_model, whisper_model,
       kpi_round(qa_score, 1) AS qa_score, critical_failed, criteria_passed, criteria_failed, criteria_na,
       kpi_round(machine_qa_score, 1) AS machine_qa_score, kpi_round(qa_score_reliable, 1) AS qa_score_reliable,
       reviewed_answers, includes_manual_edits,
       kpi_round(mean_confidence, 3) AS mean_confidence,
       low_confidence_answers, evaluated_at,
       speaker_separated, conversation_s, talk_s, non_talk_s, non_talk_ratio, silences,
       longest_silence_s, overlap_s, words_per_minute,
       agent_talk_ratio, customer_talk_ratio, agent_words_per_minute, customer_words_per_minute,
       agent_interruptions, agent_interruption_s, customer_interruptions, customer_interruption_s,
       agent_longest_monologue_s, customer_longest_monologue_s, longest_monologue_s,
       customer_sentiment_first, customer_sentiment_last, customer_sentiment_change
FROM scored_calls;

-- The counts of criterion_totals for each scorecard's current version, from the answers that
-- count (the machine's, with reviewed ones replaced: reviewed_verdict_counts).
CREATE OR REPLACE VIEW counted_totals AS
SELECT t.* REPLACE (t.passed + coalesce(d.passed_change, 0) AS passed,
                    t.failed + coalesce(d.failed_change, 0) AS failed,
                    t.not_applicable + coalesce(d.na_change, 0) AS not_applicable),
       coalesce(d.reviewed_answers, 0) AS reviewed_answers,
       coalesce(d.overruled_answers, 0) AS overruled_answers
FROM criterion_totals AS t
SEMI JOIN current_versions AS v USING (scorecard_name, scorecard_version)
LEFT JOIN reviewed_verdict_counts AS d
       ON d.agent IS NOT DISTINCT FROM t.agent AND d.scorecard_version = t.scorecard_version
      AND d.criterion_id = t.criterion_id;

-- Pass rate of each agent on each criterion (one row per agent, scorecard version and criterion),
-- from the answers that count, with the criterion's trust (criterion_trust; 'not measured' when
-- never measured). reviewed_answers: how many people reviewed; overruled_answers: of those, changed.
CREATE OR REPLACE VIEW kpi_agent_criteria AS
SELECT t.agent, t.scorecard_name, t.scorecard_version, t.criterion_id,
       t.answers AS calls,
       t.passed,
       t.failed,
       t.not_applicable,
       kpi_round(t.passed / nullif(t.passed + t.failed, 0), 3) AS pass_rate,
       kpi_round(CAST(t.confidence_sum AS DOUBLE) / nullif(t.confidences, 0), 3) AS mean_confidence,
       coalesce(a.trust, 'not measured') AS trust,
       t.reviewed_answers, t.overruled_answers
FROM counted_totals AS t
LEFT JOIN criterion_trust AS a ON a.scorecard_version = t.scorecard_version AND a.criterion_id = t.criterion_id;

-- One row per agent and scorecard version, from the answers that count (scored_calls).
-- criterion_pass_rates maps criterion id -> pass rate (kpi_agent_criteria has the same figures
-- as rows). Interruptions are the agent's own. reviewed_answers: verdicts people reviewed;
-- mean_qa_score_reliable: of qa_score_reliable (NULL unless the scorecard asks).
CREATE OR REPLACE VIEW kpi_agents AS
WITH per_agent AS (
    SELECT agent, any_value(team) AS team, scorecard_name, scorecard_version,
           count(*) AS calls,
           kpi_round(avg(qa_score), 1) AS mean_qa_score,
           kpi_round(avg(qa_score_reliable), 1) AS mean_qa_score_reliable,
           count(*) FILTER (WHERE critical_failed) AS critical_failed_calls,
           kpi_round(count(*) FILTER (WHERE critical_failed) / count(*), 3) AS critical_fail_rate,
           kpi_round(avg(agent_talk_ratio), 3) AS mean_talk_ratio,
           kpi_round(avg(agent_interruptions), 2) AS interruptions_per_call,
           kpi_round(avg(customer_interruptions), 2) AS interrupted_per_call,
           kpi_round(avg(agent_words_per_minute), 1) AS mean_words_per_minute,
           kpi_round(avg(non_talk_ratio), 3) AS mean_non_talk_ratio,
           min(started_at) AS first_call_at,
           max(started_at) AS last_call_at,
           CAST(sum(reviewed_answers) AS BIGINT) AS reviewed_answers,
           count(*) FILTER (WHERE includes_manual_edits) AS calls_with_manual_edits
    FROM scored_calls
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

-- One row per criterion and scorecard version, from the answers that count. Low confidence:
-- below 0.7. criterion_kind: 'llm' or 'rule'. reviewed_answers, overruled_answers: see kpi_agent_criteria.
-- agreement, kappa, trust: the latest measurement against human labels (criterion_trust);
-- agreement_source: what they were measured on ('random sample', 'reviews' or 'labels').
CREATE OR REPLACE VIEW kpi_criteria AS
WITH totals AS (
SELECT t.scorecard_name, t.scorecard_version, t.criterion_id,
       any_value(t.weight) AS weight, any_value(t.critical) AS critical, any_value(t.criterion_kind) AS criterion_kind,
       CAST(sum(t.answers) AS BIGINT) AS answers,
       CAST(sum(t.passed) AS BIGINT) AS passed,
       CAST(sum(t.failed) AS BIGINT) AS failed,
       CAST(sum(t.not_applicable) AS BIGINT) AS not_applicable,
       kpi_round(sum(t.passed) / nullif(sum(t.passed) + sum(t.failed), 0), 3) AS pass_rate,
       kpi_round(sum(t.not_applicable) / sum(t.answers), 3) AS na_rate,
       kpi_round(CAST(sum(t.confidence_sum) AS DOUBLE) / nullif(sum(t.confidences), 0), 3) AS mean_confidence,
       CAST(sum(t.low_confidence_answers) AS BIGINT) AS low_confidence_answers,
       CAST(sum(t.unverified_evidence) AS BIGINT) AS unverified_evidence,
       CAST(sum(t.reviewed_answers) AS BIGINT) AS reviewed_answers,
       CAST(sum(t.overruled_answers) AS BIGINT) AS overruled_answers
FROM counted_totals AS t
GROUP BY t.scorecard_name, t.scorecard_version, t.criterion_id
)
SELECT totals.*, a.agreement, a.kappa, a.labelled_answers, a.measured_at AS agreement_measured_at,
       a.source AS agreement_source, coalesce(a.trust, 'not measured') AS trust
FROM totals
LEFT JOIN criterion_trust AS a USING (scorecard_version, criterion_id);

-- One row per call day (UTC), scorecard version and criterion, from the answers that count
-- (verdicts_that_count), with the criterion's trust.
CREATE OR REPLACE VIEW kpi_daily AS
WITH days AS (
SELECT call_date AS day, scorecard_name, scorecard_version, criterion_id,
       count(*) AS calls,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE passed = false) AS failed,
       kpi_round(count(*) FILTER (WHERE passed) / nullif(count(passed), 0), 3) AS pass_rate,
       kpi_round(count(*) FILTER (WHERE passed IS NULL) / count(*), 3) AS na_rate,
       kpi_round(avg(confidence), 3) AS mean_confidence,
       count(*) FILTER (WHERE confidence < 0.7) AS low_confidence_answers,
       count(*) FILTER (WHERE source = 'review') AS reviewed_answers,
       count(*) FILTER (WHERE overruled) AS overruled_answers
FROM verdicts_that_count
GROUP BY call_date, scorecard_name, scorecard_version, criterion_id
)
SELECT days.*, coalesce(a.trust, 'not measured') AS trust
FROM days
LEFT JOIN criterion_trust AS a ON a.scorecard_version = days.scorecard_version AND a.criterion_id = days.criterion_id;

-- Beyond yes/no (docs/scorecards.md "Extraction fields" and docs/warehouse.md "KPI definitions"; migration 011).
-- The answers to the extraction fields of current_calls (each call's latest evaluation by its
-- scorecard's current version), with the call's facts. Never part of the QA score.
CREATE OR REPLACE VIEW current_extractions AS
SELECT x.evaluation_id, x.recording_id, c.file_name, c.agent, c.team, c.started_at,
       CAST(c.started_at AS DATE) AS call_date, x.scorecard_name, x.scorecard_version, x.llm_model,
       x.field_id, x.field_kind, x.value, x.confidence, x.evidence, x.evidence_line, x.evidence_start_s
FROM extractions AS x
JOIN current_calls AS c USING (evaluation_id);

-- One row per call day (UTC), team, scorecard version, choice field and option chosen: calls,
-- and their share of that day's and team's calls with the field answered.
CREATE OR REPLACE VIEW kpi_field_values AS
SELECT call_date AS day, team, scorecard_name, scorecard_version, field_id, value,
       count(*) AS calls,
       kpi_round(count(*) / sum(count(*)) OVER (PARTITION BY call_date, team, scorecard_version, field_id), 3) AS share,
       kpi_round(avg(confidence), 3) AS mean_confidence
FROM current_extractions
WHERE field_kind = 'choice'
GROUP BY call_date, team, scorecard_name, scorecard_version, field_id, value;

-- Why customers called, per day and team: kpi_field_values of the field `reason`.
CREATE OR REPLACE VIEW kpi_reasons AS
SELECT day, team, scorecard_name, scorecard_version, value AS reason, calls, share, mean_confidence
FROM kpi_field_values
WHERE field_id = 'reason';

-- Each current call's answers to the fields `reason` and `outcome` (NULL: not asked), with its facts.
CREATE OR REPLACE VIEW call_outcomes AS
SELECT c.evaluation_id, c.recording_id, c.file_name, c.agent, c.team, c.started_at,
       CAST(c.started_at AS DATE) AS call_date, c.scorecard_name, c.scorecard_version,
       r.value AS reason, o.value AS outcome, o.value = 'resolved' AS resolved
FROM current_calls AS c
LEFT JOIN extractions AS r ON r.evaluation_id = c.evaluation_id AND r.field_id = 'reason'
LEFT JOIN extractions AS o ON o.evaluation_id = c.evaluation_id AND o.field_id = 'outcome';

-- Resolution rate: the share of calls whose `outcome` is 'resolved', of the calls it was asked
-- of; per agent (kpi_resolution_by_agent) and per `reason` (kpi_resolution_by_reason).
CREATE OR REPLACE VIEW kpi_resolution_by_agent AS
SELECT agent, any_value(team) AS team, scorecard_name, scorecard_version,
       count(*) AS calls,
       count(*) FILTER (WHERE resolved) AS resolved,
       count(*) FILTER (WHERE outcome = 'escalated') AS escalated,
       kpi_round(count(*) FILTER (WHERE resolved) / count(*), 3) AS resolution_rate
FROM call_outcomes
WHERE outcome IS NOT NULL
GROUP BY agent, scorecard_name, scorecard_version;

-- The same per reason for calling (the extraction field `reason`).
CREATE OR REPLACE VIEW kpi_resolution_by_reason AS
SELECT reason, scorecard_name, scorecard_version,
       count(*) AS calls,
       count(*) FILTER (WHERE resolved) AS resolved,
       count(*) FILTER (WHERE outcome = 'escalated') AS escalated,
       kpi_round(count(*) FILTER (WHERE resolved) / count(*), 3) AS resolution_rate
FROM call_outcomes
WHERE outcome IS NOT NULL
GROUP BY reason, scorecard_name, scorecard_version;

-- Did the calls leave customers happier? One row per agent and scorecard version: the mean of
-- the customer's sentiment (-1..1, VADER) in the first and last quarter of the agent's calls and
-- of its change, over the calls it was measured on (English, the customer heard in both
-- quarters); happier_share: the share of those whose change is above 0.05 (VADER's neutral band).
CREATE OR REPLACE VIEW kpi_agent_sentiment AS
SELECT agent, any_value(team) AS team, scorecard_name, scorecard_version,
       count(*) AS calls,
       count(customer_sentiment_change) AS measured_calls,
       kpi_round(avg(customer_sentiment_first) FILTER (WHERE customer_sentiment_change IS NOT NULL), 3)
           AS mean_customer_sentiment_first,
       kpi_round(avg(customer_sentiment_last) FILTER (WHERE customer_sentiment_change IS NOT NULL), 3)
           AS mean_customer_sentiment_last,
       kpi_round(avg(customer_sentiment_change), 3) AS mean_customer_sentiment_change,
       count(*) FILTER (WHERE customer_sentiment_change > 0.05) AS happier_calls,
       kpi_round(count(*) FILTER (WHERE customer_sentiment_change > 0.05)
                 / nullif(count(customer_sentiment_change), 0), 3) AS happier_share
FROM scored_calls
GROUP BY agent, scorecard_name, scorecard_version;
