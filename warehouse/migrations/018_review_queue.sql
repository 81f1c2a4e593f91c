-- The review queue (docs/desk.md "The review queue"): each call the desk gives a reviewer to review,
-- and how it was chosen. chosen_as 'random': drawn at random from the calls nobody reviewed (a
-- share of the draws, setting review_sample_share), so that agreement measured on them is an
-- honest estimate; 'doubtful': the call with the least confident answer (criteria not yet
-- reliable first), criterion_id naming that answer. A call assigned and not finished within the
-- hold (pipeline/store/warehouse/review_queue.py) goes to the next reviewer who asks.
CREATE SEQUENCE assignment_ids START 1;
CREATE TABLE review_assignments (
    assignment_id     BIGINT PRIMARY KEY DEFAULT nextval('assignment_ids'),
    recording_id      VARCHAR NOT NULL,
    scorecard_version VARCHAR NOT NULL,
    reviewer          VARCHAR NOT NULL,
    chosen_as         VARCHAR NOT NULL,   -- random or doubtful
    criterion_id      VARCHAR,            -- doubtful: the answer that drew it
    assigned_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    finished_at       TIMESTAMPTZ         -- NULL: still open
);
COMMENT ON TABLE review_assignments IS 'the calls the review queue gave each reviewer and how each was chosen (random or doubtful)';
