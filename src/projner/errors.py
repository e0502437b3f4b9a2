"""One error catalogue for projner, with stable codes (like spaCy's ``Errors``).

Every user-facing failure raises :class:`ProjnerError` carrying a code from :class:`E`,
and, when the problem is in a file, the file name and the 1-based line number.
"""

from __future__ import annotations

from enum import Enum


class E(str, Enum):
    """Error codes and message templates. Codes never change meaning once released."""

    E001 = "Parallel inputs differ in length: {a} has {na} sentences, {b} has {nb}."
    E002 = "Wrong number of columns: expected {expected}, found {found}."
    E003 = "Unknown tag {tag!r} (not valid in scheme {scheme})."
    E004 = "Unknown tagging scheme {scheme!r}; known: {known}."
    E005 = "Invalid tag sequence: {detail}."
    E006 = "Empty sentence."
    E007 = "Token is empty after normalisation (original {token!r})."
    E008 = "Alignment link {link} is out of range for a pair of {n_src} source and {n_tgt} target words."
    E009 = "Input file is empty."
    E010 = "File is not valid UTF-8: {detail}."
    E011 = "Cannot detect the tagging scheme: {detail}."
    E012 = "Malformed line: {detail}."
    E013 = "Unknown format {fmt!r}; known: {known}."
    E014 = "Unknown label map {name!r}; known: {known}."
    E015 = "Malformed label map entry: {detail}."
    E016 = "Gold and prediction differ: {detail}."
    E017 = "Unknown component {name!r} in registry {registry!r}; known: {known}."
    E018 = "Invalid parameter: {detail}."
    E019 = "Tokens differ between parallel inputs: {detail}."
    E020 = "Missing optional dependency {package!r}: install it with `pip install {hint}`."
    E021 = "External tool failed: {detail}."


class ProjnerError(ValueError):
    """A clear, user-facing error: code, message, and where in which file it happened."""

    def __init__(self, code: E, *, file: str | None = None, line: int | None = None, **fields: object):
        self.code = code
        self.file = None if file is None else str(file)
        self.line = line
        self.fields = fields
        message = code.value.format(**fields)
        where = ""
        if self.file is not None:
            where = f"{self.file}:{line}: " if line is not None else f"{self.file}: "
        super().__init__(f"[{code.name}] {where}{message}")
