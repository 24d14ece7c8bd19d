"""The quantum-jump engine and the estimates computed from its trajectories and jump records."""
