-- The statement style's calibration (llm_questions statements, pipeline/scoring/calibration.py):
-- for each LLM, prompt version and criterion or choice field, the mean probability the model gave
-- each option on transcripts without content (its lean), which the verdicts' probabilities were
-- divided by. Recorded by the first evaluation that used it; a model file changed under the same
-- name gets a row of its own. content_free '{}': the probabilities were taken as read
-- (llm_calibration none). The stored confidences are the calibrated probabilities.
CREATE TABLE llm_calibrations (
    llm_model           VARCHAR NOT NULL,
    prompt_version      VARCHAR NOT NULL,
    item_id             VARCHAR NOT NULL,   -- a criterion or a choice field
    content_free        VARCHAR NOT NULL,   -- JSON: option -> probability on content-free transcripts
    first_evaluation_id BIGINT NOT NULL,
    recorded_at         TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (llm_model, prompt_version, item_id, content_free)
);
COMMENT ON TABLE llm_calibrations IS 'per LLM, prompt version and criterion: the lean on content-free transcripts its verdicts were calibrated by';
