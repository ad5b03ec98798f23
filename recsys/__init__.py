"""Ranking and recommendation logic for Vitrine: pure functions and models, no HTTP, no storage."""
