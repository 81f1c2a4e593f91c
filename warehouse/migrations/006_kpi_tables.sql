-- Tables the KPI views read instead of deriving every figure from `scores` at each query, so that
-- they answer in a fraction of a second over millions of calls. Each call's write keeps them in
-- step with the base tables, in the same transaction (pipeline/warehouse.py, Warehouse.save_call);
-- on an existing warehouse they are filled right after this migration, and after rows are loaded
-- around save_call, by Warehouse.rebuild_kpi_tables. What they hold is defined once, by views in
-- views.sql (call_scores_source, counted_answers).

-- A number for each evaluation, in the order they were stored: scores and call_scores join on it
-- instead of on five strings, and the latest calls sit together at the end of each table.
CREATE SEQUENCE evaluation_ids;
ALTER TABLE evaluations ADD COLUMN evaluation_id BIGINT DEFAULT nextval('evaluation_ids');
ALTER TABLE scores ADD COLUMN evaluation_id BIGINT;  -- the evaluation the answer belongs to
UPDATE scores SET evaluation_id = e.evaluation_id
FROM evaluations AS e
WHERE scores.recording_id = e.recording_id AND scores.whisper_model = e.whisper_model
  AND scores.scorecard_version = e.scorecard_version AND scores.prompt_version = e.prompt_version
  AND scores.llm_model = e.llm_model;

-- One row per scored evaluation of a stored recording (views.sql: call_scores_source): its
-- figures (evaluation_figures), the recording's facts (recordings) and the transcript's
-- conversation measures (call_metrics, NULL without them). kpi_calls is its latest rows of each
-- scorecard's current version.
CREATE TABLE call_scores (
    evaluation_id                BIGINT PRIMARY KEY,
    recording_id                 VARCHAR NOT NULL,
    whisper_model                VARCHAR NOT NULL,
    scorecard_version            VARCHAR NOT NULL,
    prompt_version               VARCHAR NOT NULL,
    llm_model                    VARCHAR NOT NULL,
    scorecard_name               VARCHAR NOT NULL,
    evaluated_at                 TIMESTAMPTZ NOT NULL,
    is_latest                    BOOLEAN NOT NULL,  -- the recording's latest evaluation of this scorecard version
    answers                      BIGINT NOT NULL,   -- scores rows
    qa_score                     DOUBLE,            -- 0-100; NULL when no criterion applied
    critical_failed              BOOLEAN NOT NULL,
    criteria_passed              BIGINT NOT NULL,
    criteria_failed              BIGINT NOT NULL,
    criteria_na                  BIGINT NOT NULL,
    mean_confidence              DOUBLE,
    low_confidence_answers       BIGINT NOT NULL,
    file_name                    VARCHAR,
    path                         VARCHAR,
    agent                        VARCHAR,
    team                         VARCHAR,
    call_id                      VARCHAR,
    started_at                   TIMESTAMPTZ,
    duration_s                   DOUBLE,
    speaker_separated            BOOLEAN,
    conversation_s               DOUBLE,
    talk_s                       DOUBLE,
    non_talk_s                   DOUBLE,
    non_talk_ratio               DOUBLE,
    silences                     INTEGER,
    longest_silence_s            DOUBLE,
    overlap_s                    DOUBLE,
    words_per_minute             DOUBLE,
    agent_talk_ratio             DOUBLE,
    customer_talk_ratio          DOUBLE,
    agent_words_per_minute       DOUBLE,
    customer_words_per_minute    DOUBLE,
    agent_interruptions          INTEGER,
    agent_interruption_s         DOUBLE,
    customer_interruptions       INTEGER,
    customer_interruption_s      DOUBLE,
    agent_longest_monologue_s    DOUBLE,
    customer_longest_monologue_s DOUBLE,
    longest_monologue_s          DOUBLE
);

-- The answers of every recording's latest evaluation per scorecard version, counted per agent
-- (NULL: calls without one), scorecard version and criterion: the sums of views.sql's
-- counted_answers. Confidences are summed exactly (DECIMAL), so that counting a call out again
-- (when it is re-scored) leaves no trace.
CREATE TABLE criterion_totals (
    agent                  VARCHAR,
    scorecard_name         VARCHAR NOT NULL,
    scorecard_version      VARCHAR NOT NULL,
    criterion_id           VARCHAR NOT NULL,
    weight                 DOUBLE,
    critical               BOOLEAN,
    criterion_kind         VARCHAR,
    answers                BIGINT NOT NULL,
    passed                 BIGINT NOT NULL,
    failed                 BIGINT NOT NULL,
    not_applicable         BIGINT NOT NULL,
    confidences            BIGINT NOT NULL,         -- answers with a confidence
    confidence_sum         DECIMAL(38, 12) NOT NULL,
    low_confidence_answers BIGINT NOT NULL,         -- confidence below 0.7
    unverified_evidence    BIGINT NOT NULL          -- evidence_verified = false
);
