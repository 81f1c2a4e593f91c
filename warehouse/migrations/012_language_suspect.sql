-- An English-only Whisper model (tiny.en) writes English whatever is spoken. language_suspect:
-- its transcript of the call reads as made up (too few words for the speech heard, or text at a
-- mean log probability under -1.0: pipeline/speech/english_check.py), so the call is probably in
-- another language; its sentiment is not measured. NULL for transcripts stored before.
ALTER TABLE transcripts ADD COLUMN language_suspect BOOLEAN;
COMMENT ON COLUMN transcripts.language_suspect IS 'an English-only model probably heard another language: transcribe it with a multilingual model';
ALTER TABLE call_scores ADD COLUMN language_suspect BOOLEAN;
