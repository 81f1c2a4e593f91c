-- callscore warehouse, first schema. Times are seconds; timestamps are UTC-aware.

-- One row per distinct recording; its id is the SHA-256 of the file's bytes.
CREATE TABLE recordings (
    recording_id      VARCHAR PRIMARY KEY,
    path              VARCHAR NOT NULL,      -- where the file was last seen
    file_name         VARCHAR NOT NULL,
    size_bytes        BIGINT NOT NULL,
    container         VARCHAR,
    codec             VARCHAR,
    channels          INTEGER,
    sample_rate       INTEGER,               -- Hz of the source
    duration_s        DOUBLE,                -- decoded duration
    truncated         BOOLEAN NOT NULL DEFAULT false,
    agent             VARCHAR,
    team              VARCHAR,
    call_id           VARCHAR,
    started_at        TIMESTAMPTZ,
    started_at_source VARCHAR,               -- 'sidecar' or 'file_mtime'
    metadata          JSON,                  -- other sidecar keys
    first_seen_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- One transcription of a recording by one Whisper model (re-used when only scoring changes).
CREATE TABLE transcripts (
    recording_id   VARCHAR NOT NULL,
    whisper_model  VARCHAR NOT NULL,
    device         VARCHAR,
    segment_count  INTEGER NOT NULL,
    speech_s       DOUBLE NOT NULL,          -- summed segment durations
    seconds        DOUBLE,                   -- wall time to decode and transcribe
    created_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (recording_id, whisper_model)
);

-- The transcript of a transcription, one row per stretch of speech: who spoke, when, and the words.
CREATE TABLE segments (
    recording_id      VARCHAR NOT NULL,
    whisper_model     VARCHAR NOT NULL,
    segment_index     INTEGER NOT NULL,
    speaker           VARCHAR NOT NULL,      -- 'agent', 'customer' or 'unknown'
    channel           INTEGER NOT NULL,      -- source channel; -1 for a mix
    start_s           DOUBLE NOT NULL,
    end_s             DOUBLE NOT NULL,
    text              VARCHAR NOT NULL,
    avg_logprob       DOUBLE,
    no_speech_prob    DOUBLE,
    compression_ratio DOUBLE,
    PRIMARY KEY (recording_id, whisper_model, segment_index)
);

-- One scoring of a transcript by one scorecard version, prompt and LLM. Its key is what
-- "already done" means: a second run with the same key skips the recording.
CREATE TABLE evaluations (
    recording_id      VARCHAR NOT NULL,
    whisper_model     VARCHAR NOT NULL,
    scorecard_version VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    llm_model         VARCHAR NOT NULL,
    scorecard_name    VARCHAR NOT NULL,
    status            VARCHAR NOT NULL,      -- 'scored', 'no_speech' or 'too_short'
    windows           INTEGER,               -- transcript windows the LLM read
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    llm_seconds       DOUBLE,
    run_id            VARCHAR,
    evaluated_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
);

-- The machine's answer to each criterion of an evaluation: passed, its confidence and the evidence.
CREATE TABLE scores (
    recording_id      VARCHAR NOT NULL,
    whisper_model     VARCHAR NOT NULL,
    scorecard_version VARCHAR NOT NULL,
    prompt_version    VARCHAR NOT NULL,
    llm_model         VARCHAR NOT NULL,
    scorecard_name    VARCHAR NOT NULL,
    criterion_id      VARCHAR NOT NULL,
    weight            DOUBLE NOT NULL,
    critical          BOOLEAN NOT NULL,
    passed            BOOLEAN,               -- NULL: not applicable
    confidence        DOUBLE,                -- 0-1, the model's probability of its answer
    evidence          VARCHAR,               -- quote found in the transcript
    evidence_verified BOOLEAN,               -- false: the model's quote was not in the transcript
    scored_at         TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (recording_id, whisper_model, scorecard_version, prompt_version, llm_model, criterion_id)
);

-- Every recording that could not be processed, each time it was tried.
CREATE TABLE failures (
    run_id       VARCHAR,
    path         VARCHAR NOT NULL,
    recording_id VARCHAR,                    -- NULL when the file could not even be read
    stage        VARCHAR NOT NULL,           -- read, sidecar, probe, decode, transcribe, score, store
    error_type   VARCHAR NOT NULL,
    message      VARCHAR NOT NULL,
    transient    BOOLEAN NOT NULL,
    failed_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- One row per `callscore score`, `rescore` or flow run: what it was given, what it did and how long it took.
CREATE TABLE runs (
    run_id            VARCHAR PRIMARY KEY,
    source            VARCHAR NOT NULL,      -- 'cli' or 'flow'
    status            VARCHAR NOT NULL,      -- 'running', 'completed', 'aborted'
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    files_seen        INTEGER,
    files_scored      INTEGER,
    files_no_speech   INTEGER,
    files_skipped     INTEGER,
    files_failed      INTEGER,
    audio_s           DOUBLE,                -- audio processed in this run
    wall_s            DOUBLE,
    whisper_model     VARCHAR,
    llm_model         VARCHAR,
    scorecard_name    VARCHAR,
    scorecard_version VARCHAR,
    prompt_version    VARCHAR
);
