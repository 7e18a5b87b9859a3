"""The wallet's pages: unlock, the list (verdicts, ECTS, EQF, stacking), claim, one credential with its share
artefacts, presenting, re-verifying, exporting a bundle. Server-rendered; the same wallet code as the CLI."""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from verifier.errors import AnchorcredError
from wallet import share
from wallet.errors import WalletError, WrongPassphraseError
from wallet.service.app import PRE_CSRF_COOKIE, SESSION_COOKIE, Session
from wallet.store import Entry, Wallet
from wallet.summary import stacks, summarize
from wallet.verifying import DEFAULT_VERIFIER_URL, WalletConfig, WalletVerifier

router = APIRouter()
VERDICTS = {"verified": ("Verified", "ok"), "partially_verified": ("Partially verified", "partial"),
            "failed": ("Failed", "bad"), None: ("Not verified", "partial")}
STATUS = {"pass": ("✔", "Passed"), "fail": ("✘", "Failed"), "skipped": ("–", "Skipped"),
          "indeterminate": ("?", "Could not be checked")}


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    base = {"verdicts": VERDICTS, "status_text": STATUS}
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def _session(request: Request) -> Session | None:
    return request.app.state.sessions.current(request.cookies.get(SESSION_COOKIE))


def _unlock_page(request: Request, problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = _render(request, "unlock.html", {"csrf": token, "problem": problem,
                                                "folder": str(request.app.state.settings.dir)}, status_code)
    response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


async def _form(request: Request, session: Session | None) -> Any:
    limit = request.app.state.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WalletError(f"the form is larger than the {limit}-byte limit")
    form = await request.form(max_files=2, max_fields=10)
    sent = form.get("csrf")
    expected = session.csrf if session else request.cookies.get(PRE_CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise PermissionError("the form's token is missing or stale: reload the page and try again")
    return form


def _config(wallet: Wallet) -> WalletConfig:
    return WalletConfig.from_settings(wallet.settings())


def _entry_or_404(session: Session, entry_id: str) -> Entry:
    return session.wallet.get(entry_id)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, problem: str | None = None) -> HTMLResponse:
    session = _session(request)
    if session is None:
        return _unlock_page(request)
    return _index(request, session, problem)


def _index(request: Request, session: Session, problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    summaries = [summarize(e) for e in session.wallet.entries()]
    return _render(request, "index.html", {"holder": session.wallet.holder_did, "summaries": summaries,
                                           "stacks": stacks(summaries), "csrf": session.csrf, "problem": problem},
                   status_code)


@router.post("/unlock", response_class=HTMLResponse)
async def unlock(request: Request) -> Response:
    try:
        form = await _form(request, None)
    except (PermissionError, WalletError) as exc:
        return _unlock_page(request, str(exc), 403)
    passphrase = form.get("passphrase")
    if not isinstance(passphrase, str) or not passphrase:
        return _unlock_page(request, "type the wallet's passphrase", 400)
    try:
        wallet = await run_in_threadpool(Wallet.open, request.app.state.settings.dir, passphrase)
    except WrongPassphraseError:
        return _unlock_page(request, "wrong passphrase: it does not open this wallet", 403)
    except AnchorcredError as exc:
        return _unlock_page(request, exc.diagnostics(), 400)
    session = request.app.state.sessions.open(wallet)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict", path="/")
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")
    return response


@router.post("/lock")
async def lock(request: Request) -> Response:
    session = _session(request)
    if session is not None:
        try:
            await _form(request, session)
        except (PermissionError, WalletError) as exc:
            return _index(request, session, str(exc), 403)
        request.app.state.sessions.close()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/claim", response_class=HTMLResponse)
async def claim(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _unlock_page(request, "the wallet is locked", 401)
    try:
        form = await _form(request, session)
    except (PermissionError, WalletError) as exc:
        return _index(request, session, str(exc), 403)
    link = form.get("link") if isinstance(form.get("link"), str) else ""
    qr, upload = form.get("qr"), form.get("file")
    limit = request.app.state.settings.max_upload_bytes
    try:
        qr_bytes = await qr.read(limit + 1) if hasattr(qr, "read") else b""
        file_bytes = await upload.read(limit + 1) if hasattr(upload, "read") else b""
        if max(len(qr_bytes), len(file_bytes)) > limit:
            raise WalletError(f"an uploaded file is larger than the {limit}-byte limit")
        entry = await run_in_threadpool(_claim, session.wallet, link.strip(), qr_bytes, file_bytes,
                                        getattr(upload, "filename", None) or "upload.json")
    except AnchorcredError as exc:
        return _index(request, session, exc.diagnostics(), 400)
    return RedirectResponse(f"/credentials/{entry.id}", status_code=303)


def _claim(wallet: Wallet, link: str, qr: bytes, file: bytes, filename: str) -> Entry:
    from wallet.claim import decode_qr_bytes, fetch_credential, parse_credential_bytes
    from wallet.intake import keep_credential

    with WalletVerifier(_config(wallet)) as wv:
        if file:
            credential, source, replace = parse_credential_bytes(file, filename), {"kind": "file", "name": filename}, False
        elif link or qr:
            kind = "link" if link else "qr"
            url, credential = fetch_credential(link or decode_qr_bytes(qr, "the QR image"), wv.fetcher)
            source, replace = {"kind": kind, "url": url}, True
        else:
            raise WalletError("give a claim link, an image of its QR code, or a credential file")
        entry, _report = keep_credential(wallet, wv, credential, source=source, replace=replace)
    return entry


@router.get("/credentials/{entry_id}", response_class=HTMLResponse)
def credential(request: Request, entry_id: str, problem: str | None = None) -> HTMLResponse:
    session = _session(request)
    if session is None:
        return _unlock_page(request, "the wallet is locked", 401)
    return _credential(request, session, entry_id, problem)


def _credential(request: Request, session: Session, entry_id: str, problem: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    try:
        entry = _entry_or_404(session, entry_id)
    except WalletError as exc:
        return _index(request, session, exc.diagnostics(), 404)
    summary = summarize(entry)
    verifier_url = session.wallet.settings().get("verifier_url") or DEFAULT_VERIFIER_URL
    link = linkedin = None
    if entry.share_url:
        link = share.verification_link(verifier_url, entry.share_url)
        linkedin = share.linkedin_link(summary, link)
    try:
        networks = {n.chain_id for n in _config(session.wallet).networks}
    except AnchorcredError as exc:  # a networks file that went missing: the page still shows the credential
        networks, problem = set(), problem or exc.diagnostics()
    return _render(request, "credential.html", {
        "entry": entry, "s": summary, "report": entry.report, "link": link, "linkedin": linkedin,
        "csrf": session.csrf, "problem": problem, "holder": session.wallet.holder_did,
        "presentable": session.wallet.holder_did in _subjects(entry), "can_bundle": bool(networks)}, status_code)


def _subjects(entry: Entry) -> list[str]:
    from wallet.present import subject_ids

    return subject_ids(entry.credential)


def _shared(request: Request, entry_id: str) -> tuple[Session, Entry, str] | Response:
    session = _session(request)
    if session is None:
        return Response("the wallet is locked", status_code=401, media_type="text/plain")
    try:
        entry = _entry_or_404(session, entry_id)
        verifier_url = session.wallet.settings().get("verifier_url") or DEFAULT_VERIFIER_URL
        return session, entry, share.verification_link(verifier_url, entry.share_url)
    except WalletError as exc:
        return Response(exc.diagnostics(), status_code=404, media_type="text/plain")


@router.get("/credentials/{entry_id}/qr.svg")
def qr_svg(request: Request, entry_id: str) -> Response:
    got = _shared(request, entry_id)
    return got if isinstance(got, Response) else Response(share.qr_svg(got[2]), media_type="image/svg+xml")


@router.get("/credentials/{entry_id}/qr.png")
def qr_png(request: Request, entry_id: str) -> Response:
    got = _shared(request, entry_id)
    return got if isinstance(got, Response) else Response(share.qr_png(got[2]), media_type="image/png")


@router.get("/credentials/{entry_id}/certificate.pdf")
def certificate(request: Request, entry_id: str) -> Response:
    got = _shared(request, entry_id)
    if isinstance(got, Response):
        return got
    _session_, entry, link = got
    return Response(share.certificate_pdf(summarize(entry), link), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="credential-{entry.id}.pdf"'})


@router.get("/credentials/{entry_id}/credential.json")
def credential_json(request: Request, entry_id: str) -> Response:
    session = _session(request)
    if session is None:
        return Response("the wallet is locked", status_code=401, media_type="text/plain")
    try:
        entry = _entry_or_404(session, entry_id)
    except WalletError as exc:
        return Response(exc.diagnostics(), status_code=404, media_type="text/plain")
    return Response(json.dumps(entry.credential, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="credential-{entry.id}.json"'})


async def _posted(request: Request, entry_id: str) -> tuple[Session, Any] | Response:
    session = _session(request)
    if session is None:
        return _unlock_page(request, "the wallet is locked", 401)
    try:
        return session, await _form(request, session)
    except (PermissionError, WalletError) as exc:
        return _credential(request, session, entry_id, str(exc), 403)


@router.post("/credentials/{entry_id}/verify", response_class=HTMLResponse)
async def reverify(request: Request, entry_id: str) -> Response:
    got = await _posted(request, entry_id)
    if isinstance(got, Response):
        return got
    session, _form_ = got

    def run() -> None:
        from wallet.intake import reverify as again

        with WalletVerifier(_config(session.wallet)) as wv:
            again(session.wallet, wv, session.wallet.get(entry_id))

    try:
        await run_in_threadpool(run)
    except AnchorcredError as exc:
        return _credential(request, session, entry_id, exc.diagnostics(), 400)
    return RedirectResponse(f"/credentials/{entry_id}", status_code=303)


@router.post("/credentials/{entry_id}/present")
async def present(request: Request, entry_id: str) -> Response:
    got = await _posted(request, entry_id)
    if isinstance(got, Response):
        return got
    session, form = got
    from wallet.present import build_presentation

    challenge = (form.get("challenge") or "").strip() or None
    domain = (form.get("domain") or "").strip() or None
    try:
        vp = build_presentation(session.wallet, [session.wallet.get(entry_id)], challenge=challenge, domain=domain)
    except AnchorcredError as exc:
        return _credential(request, session, entry_id, exc.diagnostics(), 400)
    return Response(json.dumps(vp, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="presentation.json"'})


@router.post("/credentials/{entry_id}/bundle")
async def bundle(request: Request, entry_id: str) -> Response:
    got = await _posted(request, entry_id)
    if isinstance(got, Response):
        return got
    session, _form_ = got

    def run() -> bytes:
        from verifier.ledger.evm import HttpTransport
        from wallet.bundle import write_bundle
        from wallet.exporting import anchor_chain, bundle_entry

        entry = session.wallet.get(entry_id)
        with WalletVerifier(_config(session.wallet)) as wv:
            chain_id = anchor_chain(entry)
            network = next((n for n in wv.config.networks if n.chain_id == chain_id), None)
            if network is None:
                raise WalletError(f"no ledger configured for chain {chain_id}: anchorcred wallet config --networks")
            with HttpTransport(network.rpc_url, timeout=10.0) as transport:
                return write_bundle(bundle_entry(entry, wv, transport=transport, chain_id=chain_id,
                                                 registry=network.registry_address))

    try:
        data = await run_in_threadpool(run)
    except AnchorcredError as exc:
        return _credential(request, session, entry_id, exc.diagnostics(), 400)
    return Response(data, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="bundle-{entry_id}.json"'})


@router.post("/credentials/{entry_id}/remove")
async def remove(request: Request, entry_id: str) -> Response:
    got = await _posted(request, entry_id)
    if isinstance(got, Response):
        return got
    session, _form_ = got
    try:
        session.wallet.remove(entry_id)
    except AnchorcredError as exc:
        return _credential(request, session, entry_id, exc.diagnostics(), 400)
    return RedirectResponse("/", status_code=303)


__all__ = ["router"]
