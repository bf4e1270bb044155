"""Talking to the target: the one client, its exchanges (the evidence), politeness, redaction."""
