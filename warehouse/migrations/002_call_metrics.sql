-- Conversation measures per transcript (docs/warehouse.md "KPI definitions"). Seconds; ratios 0-1.
-- Without speaker separation (mono) the per-speaker columns are NULL.
CREATE TABLE call_metrics (
    recording_id                 VARCHAR NOT NULL,
    whisper_model                VARCHAR NOT NULL,
    speaker_separated            BOOLEAN NOT NULL,
    conversation_s               DOUBLE NOT NULL,   -- first spoken word to last
    talk_s                       DOUBLE NOT NULL,   -- someone speaking
    non_talk_s                   DOUBLE NOT NULL,   -- silences over 3 s, hold included
    non_talk_ratio               DOUBLE NOT NULL,
    silences                     INTEGER NOT NULL,  -- number of silences over 3 s
    longest_silence_s            DOUBLE NOT NULL,
    overlap_s                    DOUBLE,            -- both speaking at once
    words                        INTEGER NOT NULL,
    words_per_minute             DOUBLE,
    agent_talk_s                 DOUBLE,
    agent_talk_ratio             DOUBLE,
    agent_words_per_minute       DOUBLE,
    agent_interruptions          INTEGER,           -- agent started over the customer
    agent_interruption_s         DOUBLE,
    agent_longest_monologue_s    DOUBLE,
    customer_talk_s              DOUBLE,
    customer_talk_ratio          DOUBLE,
    customer_words_per_minute    DOUBLE,
    customer_interruptions       INTEGER,           -- customer started over the agent
    customer_interruption_s      DOUBLE,
    customer_longest_monologue_s DOUBLE,
    longest_monologue_s          DOUBLE,            -- either speaker
    computed_at                  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (recording_id, whisper_model)
);
