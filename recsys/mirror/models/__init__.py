"""The mirror's learned models: co-try-on ALS and the crowd-profile taste models."""
