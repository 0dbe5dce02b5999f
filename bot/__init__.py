"""storybot's application layer: CLI, answers and (later) the Discord bot."""
