"""Mirrors: recommendations on a try-on, the compatibility table and training."""
