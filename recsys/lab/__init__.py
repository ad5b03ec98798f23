"""Simulators, offline evaluations and benchmarks: imported by the CLI and tests only, never by the service."""
