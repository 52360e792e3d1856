"""Widgets of the live and replay windows: plots, readouts, CoP map, partner view, timeline."""
