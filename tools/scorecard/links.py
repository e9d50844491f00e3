"""Keep README.md and docs/index.md pointing at the committed scorecards.

Each file holds a region between ``<!-- NAME -->`` and ``<!-- /NAME -->``
lines that the generator rewrites: README's development section links the
newest scorecard, docs/index.md lists all of them (its test requires every
page under docs/ to be linked from there).
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.scorecard.kpi import ROOT, SCORECARDS, shown

README = ROOT / "README.md"
INDEX = ROOT / "docs" / "index.md"
DATED = re.compile(r"^\d{4}-\d{2}-\d{2}\.md$")


class MarkerError(Exception):
    """A file lacks the region the generator rewrites."""


def scorecards(folder: Path = SCORECARDS) -> list[Path]:
    """The dated scorecards in ``folder``, newest first."""
    return sorted((p for p in folder.glob("*.md") if DATED.match(p.name)), reverse=True)


def replace_region(text: str, name: str, body: str) -> str:
    """``text`` with the lines between ``<!-- name -->`` and ``<!-- /name -->`` replaced by ``body``."""
    opening, closing = f"<!-- {name} -->\n", f"<!-- /{name} -->"
    start, end = text.find(opening), text.find(closing)
    if start < 0 or end < start:
        raise MarkerError(f"no `{opening.strip()}` … `{closing}` region")
    return text[: start + len(opening)] + body + text[end:]


def update(readme: Path = README, index: Path = INDEX, folder: Path = SCORECARDS) -> None:
    """Rewrite both regions from the scorecards now in ``folder``."""
    found = scorecards(folder)
    if not found:
        return
    newest = found[0]
    readme_link = newest.relative_to(readme.parent).as_posix()
    readme_body = (f"The latest KPI scorecard, generated from measurements by `python -m tools.scorecard`: "
                   f"[{newest.stem}]({readme_link}).\n")
    index_body = "".join(f"- [{p.stem}]({p.relative_to(index.parent).as_posix()})\n" for p in found)
    for path, region, body in ((readme, "latest-scorecard", readme_body), (index, "scorecards", index_body)):
        try:
            updated = replace_region(path.read_text(encoding="utf-8"), region, body)
        except MarkerError as exc:
            raise MarkerError(f"{shown(path)}: {exc}") from None
        path.write_text(updated, encoding="utf-8")
