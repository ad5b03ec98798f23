"""The Vitrine HTTP service: FastAPI app, routes, auth, storage and live-state wiring."""
