-- Line evidence (docs/how-scoring-works.md "How a call is scored"): the model cites a line (a speaker turn) of the
-- numbered transcript it was given, and the stored evidence is that line's (redacted) text, so it
-- is in the transcript by construction. Its number and start time let the report and SQL point
-- at the moment in the recording. Both are NULL for quotes (the earlier scoring style), rule verdicts and answers
-- that cite no line.
ALTER TABLE scores ADD COLUMN evidence_line INTEGER;
ALTER TABLE scores ADD COLUMN evidence_start_s DOUBLE;
COMMENT ON COLUMN scores.evidence_line IS 'number of the cited line in the numbered transcript given to the LLM (one line per speaker turn, 1 = the first); NULL: no line cited';
COMMENT ON COLUMN scores.evidence_start_s IS 'start of the cited line, seconds from the start of the recording';
