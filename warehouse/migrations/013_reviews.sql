-- A person's word on the machine's answers (the review desk). reviews is append-only: every
-- confirmation or overrule is a new row, never edited or deleted; a later review by the same
-- reviewer of the same answer supersedes theirs in the views (reviewed_answers), and the rows
-- stay. Each row keeps the machine's answer as it was shown, with the LLM and prompt that gave it.
CREATE SEQUENCE review_ids START 1;
CREATE TABLE reviews (
    review_id              BIGINT PRIMARY KEY DEFAULT nextval('review_ids'),
    recording_id           VARCHAR NOT NULL,
    scorecard_name         VARCHAR NOT NULL,
    scorecard_version      VARCHAR NOT NULL,
    item_kind              VARCHAR NOT NULL,   -- criterion or field
    item_id                VARCHAR NOT NULL,   -- the criterion's or extraction field's id
    machine_answer         VARCHAR,            -- yes, no, n.a. or the field's value, as shown; NULL: none
    machine_llm_model      VARCHAR,
    machine_prompt_version VARCHAR,
    reviewer               VARCHAR NOT NULL,
    answer                 VARCHAR NOT NULL,   -- yes, no, n.a. (criterion) or an option (choice field)
    reason                 VARCHAR,            -- wrong_verdict, wrong_evidence, missing_evidence; NULL: confirmed
    comment                VARCHAR,
    evidence_line          INTEGER,            -- the transcript line that shows the answer, 1 = the first
    reviewed_at            TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
COMMENT ON TABLE reviews IS 'append-only: each reviewer''s confirmations and overrules of the machine''s answers; the latest by a reviewer counts (view reviewed_answers)';
