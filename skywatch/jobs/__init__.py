"""Jobs: the orchestration that reads and writes (sample generation, the demo chain)."""
