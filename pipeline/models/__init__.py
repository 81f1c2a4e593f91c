"""Models: which Whisper and LLM models a run uses, and the presets that can be pulled."""
