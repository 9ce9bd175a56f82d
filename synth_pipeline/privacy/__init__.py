"""Privacy gate: refuse any metrics pack that could carry personal data."""
