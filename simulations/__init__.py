"""Experiments built on theorem_lab: sweeps, the results store, AIR spectra, benchmarks."""
