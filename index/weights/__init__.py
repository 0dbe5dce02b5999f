"""Model files the project trains and ships: each with its model card (see MODEL_CARD.md)."""
