"""Developer tools around the service: HTTP benchmarks, the demo-mall loader and a process launcher."""
