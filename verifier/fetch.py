"""A guarded HTTP fetcher: a JSON document from a URL a person pasted (verify-by-link, issue 3).

A pasted URL is untrusted input that makes *us* send a request, so every request is guarded against server-side
request forgery (OWASP SSRF Prevention Cheat Sheet):

1. parse the URL: no user info, an allowed scheme (https; http only for ``allow_http_hosts``), a port in 1..65535
   (and in ``allowed_ports`` when set);
2. resolve the host with the injected resolver and refuse if ANY address is not globally routable (private, loopback,
   link-local, multicast, reserved, unspecified, shared, or an IPv4-mapped / 6to4 / Teredo / NAT64 form of one of
   those), unless the host or the address is allow-listed;
3. pin: send the request to the vetted address itself, with ``Host`` set to the name and the TLS SNI (and so the
   certificate's hostname check) set to the name through httpx's ``sni_hostname`` extension. The name is resolved
   once per hop and never again, so DNS rebinding between the check and the connection cannot switch the target;
4. follow redirects by hand (``follow_redirects=False``), each hop going through steps 1-3, at most ``max_redirects``;
5. refuse a content type that is not JSON before reading the body; stream the body and stop past ``max_bytes``
   (counted after gzip decoding, decoded with a bounded output); one deadline of ``timeout`` seconds covers all hops.

Refusals raise :class:`FetchRefusedError` (the input is bad: an ``InvalidInputError``); network failures raise
:class:`FetchUnavailableError` (evidence could not be had: an ``EvidenceUnavailableError``). Messages name the host and
never carry user info, the query or the fragment of a URL.

The fetcher holds no global state: policy, transport, resolver and clock are given to it.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from verifier.errors import EvidenceUnavailableError, InvalidInputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> IP address strings; a Mapping host -> [ip] is accepted too (tests, fixed configurations).
Resolver = Callable[[str, int], Iterable[str]]

JSON_CONTENT_TYPES = frozenset({
    "application/json",
    "application/ld+json",
    "application/vc+ld+json",  # VC-JOSE-COSE / VCDM 1.1 era media type
    "application/vc+json",  # VCDM 2.0 §6.3 media type
    "application/vp+json",
    "application/did+json",  # DID Core §6.2
    "application/did+ld+json",  # DID Core §6.3
})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are an IPv4 address


class FetchRefusedError(InvalidInputError):
    """The URL, an address it resolves to, a redirect or the answer is refused by the fetch policy."""

    def __init__(self, reason: str, *, host: str = ""):
        self.host = host
        self.reason = reason
        super().__init__(f"refused: {reason}")


class FetchUnavailableError(EvidenceUnavailableError):
    """The document could not be fetched: DNS failure, refused connection, timeout, an HTTP error status."""

    def __init__(self, reason: str, *, host: str = ""):
        self.host = host
        self.reason = reason
        super().__init__(f"unavailable: {reason}")


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do. Misuse (a bad network, a negative limit) raises ``ValueError`` at construction."""

    allowed_schemes: frozenset[str] = frozenset({"https"})
    allow_http_hosts: frozenset[str] = frozenset()  # e.g. {"localhost"} in development
    allow_hosts: frozenset[str] = frozenset()  # names that may resolve to otherwise refused addresses
    allow_networks: tuple[IPNetwork, ...] = ()  # addresses accepted even if not globally routable
    allowed_ports: frozenset[int] | None = None  # None: any port in 1..65535
    max_bytes: int = 1024 * 1024
    timeout: float = 5.0  # seconds, one deadline for the whole fetch (every hop, every read)
    max_redirects: int = 3
    content_types: frozenset[str] = JSON_CONTENT_TYPES
    user_agent: str = "anchorcred-verifier"

    def __post_init__(self) -> None:
        lower = lambda names: frozenset(n.lower().rstrip(".") for n in names)
        object.__setattr__(self, "allowed_schemes", lower(self.allowed_schemes))
        object.__setattr__(self, "allow_http_hosts", lower(self.allow_http_hosts))
        object.__setattr__(self, "allow_hosts", lower(self.allow_hosts))
        object.__setattr__(self, "content_types", lower(self.content_types))
        object.__setattr__(self, "allow_networks",
                           tuple(ipaddress.ip_network(n, strict=False) for n in self.allow_networks))
        if not self.allowed_schemes <= {"http", "https"}:
            raise ValueError(f"allowed_schemes must be within {{'http', 'https'}}, got {sorted(self.allowed_schemes)}")
        if self.max_bytes <= 0 or self.timeout <= 0 or self.max_redirects < 0:
            raise ValueError(f"limits must be positive, got max_bytes={self.max_bytes}, timeout={self.timeout}, "
                             f"max_redirects={self.max_redirects}")


@dataclass(frozen=True)
class _Target:
    """One vetted hop: the URL as given, and the address the request is pinned to."""

    url: httpx.URL
    host: str  # ASCII (IDNA) host name, lower case, as in messages and the Host header
    address: IPAddress
    port: int


@dataclass(frozen=True)
class _Deadline:
    at: float
    clock: Callable[[], float] = field(default=time.monotonic)

    def remaining(self, host: str, timeout: float) -> float:
        left = self.at - self.clock()
        if left <= 0:
            raise FetchUnavailableError(f"{host} did not answer within {timeout:g} s", host=host)
        return left


def default_resolver(host: str, port: int) -> list[str]:
    """Every address ``socket.getaddrinfo`` gives for the host (no timeout of its own: see module limitations)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedFetcher:
    """Fetches JSON under a :class:`FetchPolicy`. ``transport`` and ``resolver`` are injectable (tests, pinning)."""

    def __init__(self, policy: FetchPolicy | None = None, *, transport: httpx.BaseTransport | None = None,
                 resolver: Resolver | Mapping[str, Sequence[str]] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.policy = policy or FetchPolicy()
        self._resolver = resolver if resolver is not None else default_resolver
        self._clock = clock
        # No keep-alive: httpcore pools connections by (address, port), so a kept connection whose certificate was
        # checked for one name could otherwise carry a request for another name pinned to the same address.
        # trust_env=False: no proxy from the environment (it would bypass the pin) and no .netrc credentials.
        self._client = httpx.Client(
            transport=transport or httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)),
            follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_json(self, url: str) -> tuple[str, Any]:
        """``(final_url, parsed JSON)`` of the document at ``url`` after at most ``max_redirects`` vetted hops."""
        deadline = _Deadline(self._clock() + self.policy.timeout, self._clock)
        current = _parse_url(url)
        for _hop in range(self.policy.max_redirects + 1):
            target = self._vet(current)
            location = self._request(target, deadline)
            if isinstance(location, httpx.URL):
                current = location
                continue
            return str(target.url), location
        raise FetchRefusedError(f"more than {self.policy.max_redirects} redirects (last to {current.host})",
                                host=current.host)

    # 1-2: parse and vet one hop --------------------------------------------------------------------------------

    def _vet(self, url: httpx.URL) -> _Target:
        policy = self.policy
        host = url.raw_host.decode("ascii").lower().rstrip(".")
        if url.userinfo:
            raise FetchRefusedError(f"the URL for {host} carries user info (credentials)", host=host)
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise FetchRefusedError(f"{scheme or 'a missing scheme'} is not allowed for {host or 'this URL'}",
                                    host=host)
        if not host:
            raise FetchRefusedError("the URL has no host")
        if scheme not in policy.allowed_schemes and not (scheme == "http" and host in policy.allow_http_hosts):
            raise FetchRefusedError(f"{scheme} is not allowed for {host}", host=host)
        port = url.port if url.port is not None else _DEFAULT_PORTS[scheme]
        if not 0 < port < 65536 or (policy.allowed_ports is not None and port not in policy.allowed_ports):
            raise FetchRefusedError(f"port {port} is not allowed for {host}", host=host)
        addresses = self._resolve(host, port)
        for address in addresses:
            self._vet_address(host, address)
        return _Target(url=url, host=host, address=addresses[0], port=port)

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        literal = _ip_or_none(host)
        if literal is not None:
            return [literal]
        try:
            if isinstance(self._resolver, Mapping):
                found = list(self._resolver[host])
            else:
                found = list(self._resolver(host, port))
        except (KeyError, OSError, UnicodeError) as exc:
            raise FetchUnavailableError(f"could not resolve {host}", host=host) from exc
        addresses = [a for a in (_ip_or_none(str(f)) for f in found) if a is not None]
        if not addresses or len(addresses) != len(found):
            raise FetchUnavailableError(f"could not resolve {host} to an IP address", host=host)
        return addresses

    def _vet_address(self, host: str, address: IPAddress) -> None:
        policy = self.policy
        if host in policy.allow_hosts:
            return
        if any(address in n for n in policy.allow_networks if n.version == address.version):
            return
        reason = refused_address_reason(address)
        if reason is None:
            return
        where = host if _ip_or_none(host) is not None else f"{host} resolves to {address}, which"
        raise FetchRefusedError(f"{where} is {reason}", host=host)

    # 3-5: one pinned request ---------------------------------------------------------------------------------------

    def _request(self, target: _Target, deadline: _Deadline) -> httpx.URL | Any:
        """A redirect's next URL (not yet vetted), or the parsed JSON body."""
        host, policy = target.host, self.policy
        wire_url = target.url.copy_with(host=str(target.address), port=target.port, fragment=None)
        headers = {"Host": target.url.netloc.decode("ascii"), "Accept": ", ".join(sorted(policy.content_types)),
                   "Accept-Encoding": "gzip, identity", "User-Agent": policy.user_agent}
        extensions: dict[str, Any] = {"timeout": httpx.Timeout(deadline.remaining(host, policy.timeout)).as_dict()}
        if target.url.scheme == "https":
            extensions["sni_hostname"] = host  # the certificate is checked against the name, not the address
        request = self._client.build_request("GET", wire_url, headers=headers, extensions=extensions)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise FetchUnavailableError(f"{host} did not answer within {policy.timeout:g} s", host=host) from exc
        except httpx.HTTPError as exc:
            raise FetchUnavailableError(f"could not connect to {host}: {type(exc).__name__}", host=host) from exc
        try:
            return self._answer(target, response, deadline)
        finally:
            response.close()

    def _answer(self, target: _Target, response: httpx.Response, deadline: _Deadline) -> httpx.URL | Any:
        host, policy = target.host, self.policy
        if response.status_code in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise FetchRefusedError(f"{host} redirected without a Location", host=host)
            try:
                return _parse_url(str(target.url.join(location)))
            except FetchRefusedError as exc:
                raise FetchRefusedError(f"{host} redirected to an unusable URL ({exc.reason})", host=host) from exc
        if not 200 <= response.status_code < 300:
            raise FetchUnavailableError(f"{host} answered HTTP {response.status_code}", host=host)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in policy.content_types:
            raise FetchRefusedError(f"content type {media_type or '(none)'} from {host} is not JSON", host=host)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > policy.max_bytes:
            raise FetchRefusedError(f"answer from {host} larger than {policy.max_bytes} bytes", host=host)
        body = self._read_capped(response, host, deadline)
        try:
            return json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, UnicodeError) as exc:
            raise FetchRefusedError(f"answer from {host} is not valid JSON ({type(exc).__name__})", host=host) from exc

    def _read_capped(self, response: httpx.Response, host: str, deadline: _Deadline) -> bytes:
        policy = self.policy
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", ""):
            raise FetchRefusedError(f"content encoding {encoding} from {host} is not accepted", host=host)
        chunks: list[bytes] = []
        size = 0
        try:
            if response.is_stream_consumed:
                # A transport that handed over an already-read body (httpx.MockTransport with bytes content):
                # httpx has decoded it, so it is only counted.
                decoded: Iterable[bytes] = response.iter_bytes()
            else:
                raw = response.iter_raw()
                decoded = _gunzip(raw, policy.max_bytes) if encoding == "gzip" else raw
            for chunk in decoded:
                size += len(chunk)
                if size > policy.max_bytes:
                    raise FetchRefusedError(f"answer from {host} larger than {policy.max_bytes} bytes", host=host)
                chunks.append(chunk)
                deadline.remaining(host, policy.timeout)
        except httpx.TimeoutException as exc:
            raise FetchUnavailableError(f"{host} did not answer within {policy.timeout:g} s", host=host) from exc
        except httpx.HTTPError as exc:
            raise FetchUnavailableError(f"reading the answer from {host} failed: {type(exc).__name__}",
                                        host=host) from exc
        except zlib.error as exc:
            raise FetchRefusedError(f"answer from {host} is not valid gzip", host=host) from exc
        return b"".join(chunks)


def refused_address_reason(address: IPAddress) -> str | None:
    """Why an address may not be fetched from ("a private address"), or None for a globally routable one.

    IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96, 6to4 2002::/16, Teredo 2001::/32, NAT64
    64:ff9b::/96) are judged by the embedded address too: Python 3.11's ipaddress does not (``::ffff:127.0.0.1`` is
    not ``is_loopback`` there).
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
        embedded: list[tuple[str, ipaddress.IPv4Address]] = []
        if address.ipv4_mapped is not None:
            embedded.append(("IPv4-mapped", address.ipv4_mapped))
        if address.sixtofour is not None:
            embedded.append(("6to4", address.sixtofour))
        if address.teredo is not None:
            embedded.extend(("Teredo", a) for a in address.teredo)
        if address in _NAT64:
            embedded.append(("NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
        for form, inner in embedded:
            reason = refused_address_reason(inner)
            if reason is not None:
                return f"{reason} ({form} {inner})"
    checks = (("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
              ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
              ("is_reserved", "a reserved address"), ("is_private", "a private address"))
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if not address.is_global:  # e.g. 100.64.0.0/10 shared address space (RFC 6598)
        return "not a globally routable address"
    return None


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchRefusedError("not a valid URL") from exc
    if not parsed.scheme:
        raise FetchRefusedError("not an absolute URL")
    return parsed


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


def _gunzip(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Decoded chunks of a gzip stream, each at most ``limit + 1`` bytes: a small bomb cannot fill memory."""
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    for chunk in chunks:
        data = chunk
        while data:
            out = decoder.decompress(data, limit + 1)
            if out:
                yield out
            data = decoder.unconsumed_tail
