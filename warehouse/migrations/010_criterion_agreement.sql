-- Agreement of the automated verdicts with human QA labels, as `callscore eval` measured it
-- (docs/calibration.md "Measuring agreement"): one row per criterion per measurement, with what was measured
-- (scorecard version, prompt version and LLM of the verdicts compared). kpi_criteria shows each
-- criterion's latest measurement for its scorecard version; a kappa below 0.4 reads as not yet
-- reliable.
CREATE SEQUENCE agreement_measurement_ids START 1;
CREATE TABLE criterion_agreement (
    measurement_id    BIGINT NOT NULL,            -- one `callscore eval`
    measured_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    scorecard_name    VARCHAR NOT NULL,
    scorecard_version VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,           -- of the verdicts compared; several joined by ', '
    llm_model         VARCHAR NOT NULL,           -- likewise
    criterion_id      VARCHAR NOT NULL,
    answers           INTEGER NOT NULL,           -- labelled answers compared
    agreement         DOUBLE,                     -- 0-1, share of answers equal to the label
    kappa             DOUBLE,                     -- Cohen's kappa; NULL when undefined (one class only)
    majority_baseline DOUBLE,                     -- 0-1, agreement of always giving the commonest label
    labels_file       VARCHAR,                    -- the labels CSV, as given
    PRIMARY KEY (measurement_id, criterion_id)
);
COMMENT ON TABLE criterion_agreement IS 'per-criterion agreement with human labels, one row per criterion per callscore eval';
