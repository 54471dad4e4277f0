"""Smoke workflows proving the Temporal runtime works (time skipping and the dev server)."""
