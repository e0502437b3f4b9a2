"""What a token may contain, on reading and on writing.

Reading: a C0 control character (U+0000–U+001F) other than TAB, or DEL (U+007F), in a line
or a token is an error (E022) naming the file and line: such bytes are invisible, and editors
and other tools disagree on them.

Writing: each line-based format has characters it cannot hold inside a token, because its
readers split there.

* ``conll`` with a TAB separator (what projner writes): TAB, line breaks, and whitespace at
  either end of a token (readers strip columns); with a space separator: any whitespace;
* ``txt`` (tokens separated by spaces): any whitespace, as ``str.split()`` sees it (this
  includes U+00A0 and the other Unicode spaces);
* ``jsonl``: nothing but the control characters above (JSON escapes the rest).

The policy (``unsafe_tokens``) is ``"error"`` (E024, the default for every writer) or
``"replace"``: each such character becomes ``_`` (:data:`REPLACEMENT`); replaced tokens are
counted in the writer's report.
"""

from __future__ import annotations

import re

REPLACEMENT = "_"
UNSAFE_POLICIES = ("error", "replace")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_WITH_TAB = re.compile("[\x00-\x1f\x7f]")


def find_control(text: str, *, allow_tab: bool = True) -> int | None:
    """Index of the first forbidden control character in ``text`` (TAB allowed unless told), else None."""
    m = (_CONTROL if allow_tab else _CONTROL_WITH_TAB).search(text)
    return None if m is None else m.start()


def _breaks(ch: str, fmt: str, sep: str) -> bool:
    if _CONTROL_WITH_TAB.match(ch) and (fmt != "jsonl" or ch != "\t"):
        return True
    if fmt == "txt" or (fmt == "conll" and sep != "\t"):
        return ch.isspace()
    return False


def unsafe_reason(token: str, fmt: str, sep: str = "\t") -> str | None:
    """Why ``token`` cannot be written in ``fmt`` as it is, or None when it can."""
    for ch in token:
        if _breaks(ch, fmt, sep):
            name = {"\t": "a TAB", "\n": "a line break", "\r": "a carriage return"}.get(ch)
            if name is None:
                name = "a space" if ch.isspace() else "a control character"
                name += f" (U+{ord(ch):04X})"
            return f"it holds {name}, where {fmt} readers split"
    if fmt == "conll" and token and (token[0].isspace() or token[-1].isspace()):
        return "whitespace at its start or end would be stripped by conll readers"
    return None


def make_safe(token: str, fmt: str, sep: str = "\t") -> str:
    """``token`` with every character that ``fmt`` cannot hold replaced by ``_``."""
    out = "".join(REPLACEMENT if _breaks(ch, fmt, sep) else ch for ch in token)
    if fmt == "conll" and out:
        lead = len(out) - len(out.lstrip())
        trail = len(out) - len(out.rstrip())
        if lead == len(out):
            return REPLACEMENT * len(out)
        out = REPLACEMENT * lead + out[lead : len(out) - trail] + REPLACEMENT * trail
    return out


DOCSTART = "-DOCSTART-"
"""A CoNLL line whose first column is this starts a document; readers skip it."""
EMPTY_MARKER = "-EMPTY-"
"""CoNLL has no way to write a sentence without tokens (blank lines only separate sentences,
and several in a row are read as one, as every CoNLL reader does). projner writes an empty
sentence as a block of one line ``-EMPTY-<TAB>O`` and reads such a block (token ``-EMPTY-``,
tag ``O``, alone in its sentence) back as an empty sentence. Other tools see a one-word
sentence tagged ``O``: line-parallel to the input, and without effect on span scores."""
