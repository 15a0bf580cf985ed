"""Reports from results files: the analysis computed once, then one module per output.

- :mod:`vecbench.report.analysis`: the numbers and rows (headline, lecture, break-even, reference...)
- :mod:`vecbench.report.markdown`: ``README.md``
- :mod:`vecbench.report.html`: ``report.html`` (one self-contained page)
- :mod:`vecbench.report.figures`: the figures (matplotlib; never imports the harness)
- :mod:`vecbench.report.write`: a report folder from results files, written atomically

Nothing here times anything; ``vecbench report --run`` measures through the run path first.
Importing this package does not import matplotlib (only drawing does).
"""

from __future__ import annotations

from .analysis import Part, beside_reference, break_even, headline, lecture_dot, reference, split
from .markdown import axis_table
from .write import expand, report_files, write_report

__all__ = ["Part", "axis_table", "beside_reference", "break_even", "expand", "headline", "lecture_dot", "reference",
           "report_files", "split", "write_report"]
