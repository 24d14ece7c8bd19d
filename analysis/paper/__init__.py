"""Figures and report of the paper study (``qjump run runs/paper.toml``), from stored tables.

Reads a finished study directory (:mod:`.data`), judges the paper's claims (:mod:`.claims`),
draws Figs. 2-4 (:mod:`.figures`) and writes ``report.md`` (:mod:`.report`); it never solves
a model, so :func:`write_all` re-draws everything without recomputing.
"""

from __future__ import annotations

from pathlib import Path

from .claim_table import PAPER_CLAIMS
from .claims import ClaimResult, Verdict, evaluate
from .data import InputsAbsent, Study
from .figures import figure2, figure3, figure4, save_figures
from .report import report_markdown
from .tables import agreement_summary, se_budget_table, table1_summary

__all__ = [
    "PAPER_CLAIMS",
    "ClaimResult",
    "InputsAbsent",
    "Study",
    "Verdict",
    "agreement_summary",
    "evaluate",
    "figure2",
    "figure3",
    "figure4",
    "report_markdown",
    "save_figures",
    "se_budget_table",
    "table1_summary",
    "write_all",
]


def write_all(directory: str | Path) -> Path:
    """Draw ``fig2.png``, ``fig3.png``, ``fig4.png`` and write ``report.md``.

    Claims whose inputs the study lacks are reported as not evaluated; the report is
    always written.

    Parameters
    ----------
    directory : path-like
        A finished study's output directory (``results.parquet``, ``study.json`` and, if
        computed, ``optimum.csv`` and ``table1.csv``).

    Returns
    -------
    Path
        ``report.md``.
    """
    directory = Path(directory)
    st = Study.read(directory)
    save_figures(st, directory)
    path = directory / "report.md"
    path.write_text(report_markdown(st))
    return path
