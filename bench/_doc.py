"""Write one benchmark's section of docs/benchmarks.md, leaving the others as they are."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
NOTES = re.compile(r"<!-- notes -->.*?<!-- /notes -->", re.DOTALL)


def replace_section(heading: str, section: str) -> None:
    """Replace the `heading` section (or append it); a `<!-- notes -->` block written by
    hand inside the old section is carried over."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    old = pattern.search(text)
    if old and (notes := NOTES.search(old.group(0))) and not NOTES.search(section):
        section += "\n\n" + notes.group(0)
    if old:
        text = text[: old.start()] + section.rstrip() + "\n\n" + text[old.end() :]
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text.rstrip() + "\n")
