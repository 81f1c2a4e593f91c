-- Recordings as recorders write them (docs/scoring.md "Channels and languages"). channel_layout: how the
-- channels carry the call; NULL for recordings stored before it was measured. language: the one
-- language the transcript was made in, decided once per call (given by the sidecar or the
-- settings, or detected on the speech of all channels together), with the detector's
-- probability (NULL when given, or for an English-only model). kpi_calls shows both.
ALTER TABLE recordings ADD COLUMN channel_layout VARCHAR;
COMMENT ON COLUMN recordings.channel_layout IS 'stereo, dual_mono (one signal on both channels: transcribed once, as mono), mono, silent_agent or silent_customer (stereo, one side silent while the other spoke: its speech is kept as speaker unknown)';
ALTER TABLE transcripts ADD COLUMN language VARCHAR;
ALTER TABLE transcripts ADD COLUMN language_probability DOUBLE;
ALTER TABLE transcripts ADD COLUMN language_source VARCHAR;
ALTER TABLE transcripts ADD COLUMN mixed_language BOOLEAN;
COMMENT ON COLUMN transcripts.language IS 'Whisper language code (ISO 639-1 where there is one) the call was transcribed in';
COMMENT ON COLUMN transcripts.language_probability IS '0-1, the detector''s probability of that language; NULL when it was given or the model is English-only';
COMMENT ON COLUMN transcripts.language_source IS 'detected, given (sidecar or setting) or model (an English-only Whisper model)';
COMMENT ON COLUMN transcripts.mixed_language IS 'a stretch of speech was heard in another language with some confidence';
ALTER TABLE call_scores ADD COLUMN channel_layout VARCHAR;
ALTER TABLE call_scores ADD COLUMN language VARCHAR;
ALTER TABLE call_scores ADD COLUMN language_probability DOUBLE;
ALTER TABLE call_scores ADD COLUMN mixed_language BOOLEAN;
