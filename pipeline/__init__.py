"""callscore: score recorded calls on your own hardware (see README.md, and the layout in docs/development.md)."""
