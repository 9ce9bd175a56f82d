"""synth-pipeline: production-shaped, privacy-first synthetic chat data for PostgreSQL."""

__version__ = "0.1.0"
