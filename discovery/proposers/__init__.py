"""Proposers write new objectives from what the archive has learned so far."""
