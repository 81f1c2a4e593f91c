"""Scoring: scorecards, rule criteria, the prompt, and the LLM backends that answer it."""
