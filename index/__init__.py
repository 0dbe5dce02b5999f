"""storybot's retrieval engine: stories in, passages out. No Discord, no LLM, no settings."""
