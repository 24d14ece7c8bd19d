"""Exact answers from the Liouvillian: steady state, relaxation time, counting statistics.

``liouvillian`` assembles the block-diagonal generator, ``linalg`` holds the bordered
solves and preconditioners, ``steady`` the steady state and ``fcs`` the counting statistics;
``dynamics``, ``waiting`` and ``noise`` the transient ``rho(t)``, the waiting times between
jumps and the noise spectra.
"""
