"""The mirror surface: what to try on next, from the item on the mirror and the crowd around it."""
