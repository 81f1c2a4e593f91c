"""Intake: finding recordings in a folder, their identity and sidecar facts, and decoding their audio."""
