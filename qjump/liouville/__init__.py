"""Exact answers from the Liouvillian: steady state, counting statistics, dynamics, noise.

``liouvillian`` assembles the sector blocks once, ``linalg`` holds the bordered solves and the
one GMRES, ``decoupled`` the inverse of the uncoupled ensembles' generator (its
preconditioner), ``steady`` the steady state, ``fcs`` the counting statistics, and
``dynamics``, ``waiting`` and ``noise`` the transient, waiting-time and noise answers.
"""
