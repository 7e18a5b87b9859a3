"""QR codes of verification links, as the issuer (a credential's share link) and the wallet (its verification link)
make them: ISO/IEC 18004 with error correction level M exactly (15 % of the code may be damaged, enough for a printed
sheet that was folded) and the standard 4-module quiet zone; as SVG, PNG, or vector rectangles on an fpdf2 page.

It lives in the verifier because that is the one package both the issuer and the wallet may import. The verifier
itself makes no QR code: segno (the ``issuer`` and ``wallet`` extras) is imported when a code is made, so the
verifier CLI does not need it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import segno

MAX_LINK_LENGTH = 2048  # what the verifier's /verify/link accepts; a version-40 QR at level M holds 2,331 bytes
MAX_PNG_SCALE = 40      # 40 px per module: a version-10 code is 2,280 px wide, plenty for print
QUIET_ZONE = 4          # modules (ISO/IEC 18004 §6.3.8)


def make_qr(link: str) -> segno.QRCode:
    """The link's QR code; ValueError for an empty link or one longer than MAX_LINK_LENGTH."""
    import segno

    if not link or len(link) > MAX_LINK_LENGTH:
        raise ValueError(f"a QR code needs a link of 1-{MAX_LINK_LENGTH} characters, got {len(link)}")
    # boost_error=False: level M exactly, as documented, rather than whatever higher level happens to fit.
    return segno.make_qr(link, error="m", boost_error=False)


def svg(code: segno.QRCode, *, title: str, desc: str = "Scan to verify this credential") -> bytes:
    """SVG of the code (scalable; 4 px per module at 100 %), titled for screen readers."""
    out = io.BytesIO()
    # A white background of its own: a transparent code on a dark page (dark mode) would not scan.
    code.save(out, kind="svg", scale=4, border=QUIET_ZONE, dark="#000", light="#fff", title=title, desc=desc,
              xmldecl=True)
    return out.getvalue()


def png(code: segno.QRCode, scale: int = 8) -> bytes:
    """PNG of the code, ``scale`` pixels per module (1..MAX_PNG_SCALE), quiet zone included."""
    if not isinstance(scale, int) or not 1 <= scale <= MAX_PNG_SCALE:
        raise ValueError(f"scale must be an integer from 1 to {MAX_PNG_SCALE}, got {scale!r}")
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()


def draw(pdf: Any, code: segno.QRCode, link: str, x: float, y: float, size: float) -> None:
    """The code on an fpdf2 page as vector rectangles (one per dark run of a row: it prints sharp at any size), on
    white, quiet zone included in ``size`` (mm), the whole square a link to ``link``."""
    matrix = [list(row) for row in code.matrix]
    unit = size / (len(matrix) + 2 * QUIET_ZONE)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + (QUIET_ZONE + start) * unit, y + (QUIET_ZONE + r) * unit, (c - start) * unit, unit,
                         style="F")
            else:
                c += 1
    pdf.link(x, y, size, size, link)
