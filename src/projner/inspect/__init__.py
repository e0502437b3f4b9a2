"""Find out why an entity was lost or misplaced: verdicts per pair, as HTML or terminal text.

```python
from projner.inspect import render_html
html = render_html("en.conll", "de.conll", "de.align", gold="de.conll")   # one self-contained page
```
"""

from projner.inspect.html import render_html, render_report_html, report_to_json
from projner.inspect.text import render_text
from projner.inspect.verdicts import (
    Category,
    InspectReport,
    PairReport,
    SourceVerdict,
    TargetVerdict,
    build_report,
    classify_targets,
    inspect_files,
    pair_report,
    source_verdicts,
)
from projner.project.build import projector_params

__all__ = [
    "Category",
    "InspectReport",
    "PairReport",
    "SourceVerdict",
    "TargetVerdict",
    "build_report",
    "classify_targets",
    "inspect_files",
    "pair_report",
    "projector_params",
    "render_html",
    "render_report_html",
    "render_text",
    "report_to_json",
    "source_verdicts",
]
