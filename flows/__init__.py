"""The Prefect flows: the nightly run, its shards, and their deployment."""
