"""N=2 throughput check: simulated time per CPU second of one long trajectory.

Model: N=2, common dissipation, pairwise interaction, omega_h=1.5; initial_state="steady",
burn_in=0.  Usage: ``python runs/scaling/throughput_n2.py [t_final] [repeats]``.
"""

import sys
import time

from qjump.model import PaperModel
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

t_final = float(sys.argv[1]) if len(sys.argv) > 1 else 2e6
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
model = PaperModel(N=2, omega_h=1.5, dissipation="common", interaction="pairwise")
spec = TrajectorySpec(t_final=t_final, burn_in=0.0, window=t_final / 10, sample_interval=1.0,
                      initial_state="steady")
run_trajectory(model, TrajectorySpec(10.0, 0.0, 1.0, 1.0, "steady"), trajectory_seed(1, 0))
for r in range(repeats):
    c0 = time.process_time()
    out = run_trajectory(model, spec, trajectory_seed(7, r))
    cpu = time.process_time() - c0
    print(f"run {r}: {t_final / cpu:.4g} time units per CPU s ({out.counts.sum()} jumps)")
