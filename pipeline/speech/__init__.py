"""Speech: timed, speaker-labelled text from audio, its redaction, and the conversation measures."""
