"""Proof: fidelity of synthetic vs production shape, and query baselines."""
