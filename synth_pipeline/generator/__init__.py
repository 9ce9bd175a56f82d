"""Generator: deterministic, sharded synthetic data from a distribution spec."""
