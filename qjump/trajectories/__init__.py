"""Quantum-jump trajectories: the jump engine, ensembles of trajectories and their estimates."""
