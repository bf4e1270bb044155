"""From findings to verdicts: the violation contract, per-clause decisions, certifiability, waivers, notes."""
