"""Getting a credential into the wallet: from the issuer's claim link, a QR code of it, or a file.

A claim link is what the issuer hands the learner: the credential's public URL (``{issuer}/share/{token}``), or the
share link that opens the verifier's page on it (``{verifier}/verify/link?url=<percent-encoded public URL>``, what the
QR code on the certificate holds). Either way the wallet fetches the public URL itself, through the verifier's guarded
fetcher (https, public addresses, size and time limits; see verifier/fetch.py), never through the verifier's page.

A QR code is read from an image file with zbar (Debian ``zbar-tools``: ``zbarimg``). The SVG codes segno writes (the
issuer's ``qr.svg``) are drawn onto a bitmap first (their path is runs of dark modules, so no SVG renderer is needed).
Without zbar the learner is told to paste the link text instead.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from verifier.errors import EvidenceUnavailableError, InvalidInputError
from verifier.fetch import GuardedFetcher
from wallet.errors import ClaimError, ClaimUnavailableError

MAX_CREDENTIAL_BYTES = 2 << 20
MAX_IMAGE_BYTES = 16 << 20
MAX_LINK = 4096
ZBAR_TIMEOUT = 20.0
_SVG_NS = "{http://www.w3.org/2000/svg}"


def credential_url(link: str) -> str:
    """The URL the credential is fetched from: the link itself, or the ``url`` a verifier share link points at."""
    link = link.strip()
    if not link or len(link) > MAX_LINK:
        raise ClaimError(f"a claim link has 1-{MAX_LINK} characters, got {len(link)}")
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClaimError(f"a claim link is an http(s) URL, got {link[:80]!r}")
    if parts.path.rstrip("/").endswith("/verify/link"):
        inner = parse_qs(parts.query).get("url")
        if not inner or len(inner) != 1:
            raise ClaimError("the verifier link names no credential URL (its url= parameter is missing)")
        return credential_url(inner[0])
    return link


def fetch_credential(link: str, fetcher: GuardedFetcher) -> tuple[str, dict[str, Any]]:
    """(the URL it came from, the credential) for a claim link; refused and unreachable links are told apart."""
    url = credential_url(link)
    try:
        final, document = fetcher.fetch_json(url)
    except InvalidInputError as exc:
        raise ClaimError(f"claim link {_host(url)}: {exc.diagnostics()}") from exc
    except EvidenceUnavailableError as exc:
        raise ClaimUnavailableError(f"claim link {_host(url)}: {exc.diagnostics()}") from exc
    if not isinstance(document, dict):
        raise ClaimError(f"{_host(url)} answered a JSON {type(document).__name__}, not a credential")
    if isinstance(document.get("verifiableCredential"), dict):  # a VC-API style envelope
        document = document["verifiableCredential"]
    return final, document


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def load_credential_file(path: Path) -> dict[str, Any]:
    """A credential from a JSON file (at most 2 MiB)."""
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as exc:
        raise ClaimError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    return parse_credential_bytes(raw, str(path))


def parse_credential_bytes(raw: bytes, where: str) -> dict[str, Any]:
    if len(raw) > MAX_CREDENTIAL_BYTES:
        raise ClaimError(f"{where}: larger than the {MAX_CREDENTIAL_BYTES}-byte limit for a credential")
    try:
        document = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ClaimError(f"{where}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except (ValueError, RecursionError) as exc:
        raise ClaimError(f"{where}: not valid JSON ({exc})") from exc
    if isinstance(document, dict) and isinstance(document.get("verifiableCredential"), dict):
        document = document["verifiableCredential"]
    if not isinstance(document, dict):
        raise ClaimError(f"{where}: a credential is a JSON object, got {type(document).__name__}")
    return document


# ── QR codes ──────────────────────────────────────────────────────────────────────────────────────────────────

def decode_qr(path: Path) -> str:
    """The text of the one QR code in an image file (PNG, JPEG, GIF, … or a segno SVG)."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ClaimError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    return decode_qr_bytes(data, str(path))


def decode_qr_bytes(data: bytes, where: str) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise ClaimError(f"{where}: larger than the {MAX_IMAGE_BYTES}-byte limit for an image")
    head = data[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        data = rasterise_svg(data, where)
    zbar = shutil.which("zbarimg")
    if zbar is None:
        raise ClaimError(f"{where}: reading QR codes needs zbar (Debian package zbar-tools); paste the link text "
                         "instead")
    with tempfile.NamedTemporaryFile(suffix=".img") as fh:
        fh.write(data)
        fh.flush()
        try:
            done = subprocess.run([zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", fh.name],
                                  capture_output=True, timeout=ZBAR_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise ClaimError(f"{where}: zbar did not finish reading the image within {ZBAR_TIMEOUT:g} s") from None
    codes = [line for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
    if done.returncode != 0 or not codes:
        raise ClaimError(f"{where}: no QR code found in the image")
    if len(codes) > 1:
        raise ClaimError(f"{where}: {len(codes)} QR codes in the image; give an image with one")
    return codes[0].strip()


def rasterise_svg(svg: bytes, where: str, *, scale: int = 8) -> bytes:
    """A PNG of a segno SVG QR code: its ``qrline`` path is horizontal runs (``M x y h n m dx dy h n …``) in modules."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:  # Pillow comes with fpdf2 (the wallet extra)
        raise ClaimError(f"{where}: reading an SVG QR code needs Pillow (pip install 'anchorcred[wallet]'); "
                         "paste the link text instead") from exc
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise ClaimError(f"{where}: not a readable SVG ({exc})") from exc
    path = next((p for p in root.iter(f"{_SVG_NS}path") if "qrline" in (p.get("class") or "")), None)
    if path is None:
        raise ClaimError(f"{where}: not an SVG QR code this wallet can read (no segno qrline path); use a PNG or "
                         "paste the link text")
    # segno writes width/height in pixels and puts scale(n) on a group: modules = width / n
    viewbox = (root.get("viewBox") or "").split()
    try:
        size = float(re.sub(r"[^\d.]", "", root.get("width") or "") or (viewbox[2] if len(viewbox) == 4 else ""))
    except ValueError:
        raise ClaimError(f"{where}: the SVG has no usable size") from None
    unit = next((float(m.group(1)) for g in root.iter() if (m := re.search(r"scale\(([\d.]+)\)",
                                                                          g.get("transform") or ""))), 1.0)
    modules = max(1, round(size / unit))
    if modules > 400:
        raise ClaimError(f"{where}: {modules} modules is larger than any QR code")
    image = Image.new("L", (modules * scale, modules * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])\s*([-\d.\s]+)", path.get("d") or ""):
        nums = [float(v) for v in args.split()]
        if op in "Mm" and len(nums) >= 2:
            x, y = (nums[0], nums[1]) if op == "M" else (x + nums[0], y + nums[1])
        elif op in "Hh" and nums:
            length = nums[0] if op == "h" else nums[0] - x
            row = int(y - 0.5)
            draw.rectangle([x * scale, row * scale, (x + length) * scale - 1, (row + 1) * scale - 1], fill=0)
            x += length
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


__all__ = ["credential_url", "decode_qr", "decode_qr_bytes", "fetch_credential", "load_credential_file",
           "parse_credential_bytes", "rasterise_svg"]
