-- The SHA-256 of the GGUF file each run scored with (NULL: an LLM on a server, or a run from
-- before this migration). Two files of one name (a model and its copy prepared by `callscore
-- models prepare`, or a file replaced in place) are told apart by it; each evaluation reaches
-- it through its run_id.
ALTER TABLE runs ADD COLUMN llm_sha256 VARCHAR;
COMMENT ON COLUMN runs.llm_sha256 IS 'SHA-256 of the GGUF file the run scored with; NULL for an LLM on a server';
