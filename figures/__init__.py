"""Paper-style figures and reports, built from stored results only."""
