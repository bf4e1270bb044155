"""The pytest plugin and the run around it: settings, per-test capture, the xdist hand-over, confirmation."""
