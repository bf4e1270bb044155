"""The facts of SPEC.md the suite reads: the clause catalogue, its published form, the profiles."""
