"""Calibration: fit distribution families to a metrics pack, producing a distribution spec."""
