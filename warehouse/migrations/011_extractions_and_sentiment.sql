-- Beyond yes/no (docs/scorecards.md "Extraction fields" and docs/warehouse.md "KPI definitions"). extractions: the answers to the
-- scorecard's extraction fields, one row per field per evaluation, kept like the scores of every
-- evaluation and never counted in the QA score. call_sentiment: each speaker's sentiment per
-- quarter of the conversation, measured on the transcript (English only), like call_metrics,
-- which gains each side's sentiment in the first and last quarter and its change, and the
-- reason when it was not measured. call_scores copies the customer's three figures for kpi_calls.
CREATE TABLE extractions (
    recording_id      VARCHAR NOT NULL,
    whisper_model     VARCHAR NOT NULL,
    scorecard_version VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    llm_model         VARCHAR NOT NULL,
    scorecard_name    VARCHAR NOT NULL,
    evaluation_id     BIGINT NOT NULL,
    field_id          VARCHAR NOT NULL,
    field_kind        VARCHAR NOT NULL,            -- choice or text
    value             VARCHAR NOT NULL,            -- the option chosen, or the text
    confidence        DOUBLE,                      -- 0-1, the model's probability of the option; NULL for text
    evidence          VARCHAR,                     -- the cited line's text; NULL: no line cited (or text)
    evidence_line     INTEGER,
    evidence_start_s  DOUBLE,
    extracted_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (recording_id, whisper_model, scorecard_version, prompt_version, llm_model, field_id)
);
COMMENT ON TABLE extractions IS 'answers to the scorecard''s extraction fields (choice: one of its options; text: at most its max_words), per evaluation; not in the QA score';
CREATE TABLE call_sentiment (
    recording_id  VARCHAR NOT NULL,
    whisper_model VARCHAR NOT NULL,
    speaker       VARCHAR NOT NULL,                -- agent, customer or unknown (mono)
    quarter       INTEGER NOT NULL,                -- 1-4, of the conversation (first spoken word to last)
    sentiment     DOUBLE NOT NULL,                 -- -1..1, word-weighted mean of VADER compound scores per segment
    words         INTEGER NOT NULL,                -- the words it is measured on
    PRIMARY KEY (recording_id, whisper_model, speaker, quarter)
);
COMMENT ON TABLE call_sentiment IS 'each speaker''s sentiment per quarter of the call (VADER, English only); quarters a speaker said nothing in have no row';
ALTER TABLE call_metrics ADD COLUMN agent_sentiment_first DOUBLE;
ALTER TABLE call_metrics ADD COLUMN agent_sentiment_last DOUBLE;
ALTER TABLE call_metrics ADD COLUMN agent_sentiment_change DOUBLE;
ALTER TABLE call_metrics ADD COLUMN customer_sentiment_first DOUBLE;
ALTER TABLE call_metrics ADD COLUMN customer_sentiment_last DOUBLE;
ALTER TABLE call_metrics ADD COLUMN customer_sentiment_change DOUBLE;
ALTER TABLE call_metrics ADD COLUMN sentiment_note VARCHAR;
COMMENT ON COLUMN call_metrics.customer_sentiment_change IS 'customer_sentiment_last - customer_sentiment_first: above 0, the customer ended the call happier than they began it';
COMMENT ON COLUMN call_metrics.sentiment_note IS 'why sentiment was not measured (a language other than English, or not known); NULL when it was';
ALTER TABLE call_scores ADD COLUMN customer_sentiment_first DOUBLE;
ALTER TABLE call_scores ADD COLUMN customer_sentiment_last DOUBLE;
ALTER TABLE call_scores ADD COLUMN customer_sentiment_change DOUBLE;
