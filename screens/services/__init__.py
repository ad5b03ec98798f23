"""Use cases: load state from storage and live counters, call ``recsys``, write results back."""
