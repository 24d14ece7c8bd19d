"""Exact answers from the Liouvillian: steady state, counting statistics, dynamics, waiting
times and noise spectra."""
