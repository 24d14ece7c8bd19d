"""Exact N = 5 points of the scaling study (block GMRES, ~2 min each); writes exact_n5.csv.

Usage: ``/work/venv/bin/python runs/scaling/exact_n5.py``
"""

import resource
from pathlib import Path

import pandas as pd

from qjump.model import PaperModel
from qjump.studies.scaling import exact_point

rows = []
for diss in ("common", "independent", "cascaded"):
    model = PaperModel(N=5, omega_h=1.5, dissipation=diss, interaction="pairwise", Omega=0.1)
    r = exact_point(model)
    r["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rows.append({"N": 5, "dissipation": diss, **r})
    print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(Path(__file__).with_name("exact_n5.csv"), index=False)
