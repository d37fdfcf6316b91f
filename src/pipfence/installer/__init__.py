"""installer layer."""
