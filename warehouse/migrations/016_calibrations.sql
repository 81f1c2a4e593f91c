-- Calibration sessions (docs/calibration.md "Calibration"): the same calls go to several reviewers, who answer
-- them blind to one another (and, when the session says so, to the machine). Their answers are
-- reviews with the session's calibration_id; they do not count as the answer that counts (view
-- reviewed_answers leaves them out): a lead records the consensus as an ordinary review.
CREATE SEQUENCE calibration_ids START 1;
-- One row per calibration session: its name, the scorecard version compared and how blind it is.
CREATE TABLE calibrations (
    calibration_id    BIGINT PRIMARY KEY DEFAULT nextval('calibration_ids'),
    name              VARCHAR NOT NULL,
    scorecard_version VARCHAR NOT NULL,            -- the answers compared are of this version
    blind_to_machine  BOOLEAN NOT NULL,            -- reviewers do not see the machine's answers
    calls_filter      VARCHAR,                     -- the calls page's filters the calls were drawn with
    created_at        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
-- The calls of each calibration session.
CREATE TABLE calibration_calls (
    calibration_id BIGINT NOT NULL,
    recording_id   VARCHAR NOT NULL,
    PRIMARY KEY (calibration_id, recording_id)
);
-- The reviewers who answer each calibration session's calls.
CREATE TABLE calibration_reviewers (
    calibration_id BIGINT NOT NULL,
    reviewer       VARCHAR NOT NULL,
    PRIMARY KEY (calibration_id, reviewer)
);
ALTER TABLE reviews ADD COLUMN calibration_id BIGINT;  -- NULL outside a calibration
