"""The fonts of every PDF the project prints (the verifier's reports, the issuer's certificates, the wallet's sheets):
the DejaVu Sans subsets shipped in ``verifier/fonts`` (why and how: its README), Latin, Greek and Cyrillic.

``covered()`` is what both faces draw, so each printer can turn any other character into U+FFFD rather than let it
vanish; ``add_fonts`` registers the two faces as the family ``DejaVu``. fontTools comes with fpdf2 and is imported
when first needed, as fpdf2 is by its callers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR, BOLD = "DejaVuSans-EU.ttf", "DejaVuSans-Bold-EU.ttf"


@lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    """Code points both shipped faces draw."""
    from fontTools.ttLib import TTFont

    sets = [set(TTFont(FONT_DIR / name).getBestCmap()) for name in (REGULAR, BOLD)]
    return frozenset(sets[0] & sets[1])


def add_fonts(pdf: Any) -> None:
    """Register the regular and bold faces on an fpdf2 document as the family ``DejaVu`` ("" and "B")."""
    pdf.add_font("DejaVu", "", FONT_DIR / REGULAR)
    pdf.add_font("DejaVu", "B", FONT_DIR / BOLD)
