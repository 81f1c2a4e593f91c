-- The KPI views count the answer people gave over the machine's (views.sql: verdicts_that_count,
-- reviewed_verdicts, the review macros *_of, qa_score_of). Views are re-created on every writable
-- open; this migration changes nothing but the comment below, so that a read-only command on a
-- warehouse last written before those views asks for `callscore upgrade` instead of failing on
-- a view it does not find.
COMMENT ON TABLE reviews IS 'append-only: each reviewer''s confirmations and overrules of the machine''s answers; the latest by a reviewer counts (view reviewed_answers), a person''s answer over the machine''s in the KPI views (view verdicts_that_count)';
