"""The guarded fetcher (verifier/fetch.py): no real network, ever.

Every test injects a resolver (a dict host -> [ip], or a function) and an ``httpx.MockTransport``; no socket is opened.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket

import httpx
import pytest

from verifier.errors import EvidenceUnavailableError, InvalidInputError
from verifier.fetch import (
    FetchPolicy,
    FetchRefusedError,
    FetchUnavailableError,
    GuardedFetcher,
    default_resolver,
    refused_address_reason,
)

PUBLIC = "93.184.216.34"
PUBLIC_2 = "151.101.1.69"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
DOC = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}
JSON_HEADERS = {"content-type": "application/vc+ld+json"}


class Recorder:
    """A MockTransport handler answering from a table keyed by (Host header, path); records every request."""

    def __init__(self, routes: dict | None = None):
        self.routes = routes or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.headers["host"], request.url.path)
        if key not in self.routes:
            return httpx.Response(404)
        route = self.routes[key]
        return route() if callable(route) else route  # a callable builds a fresh (streamed) answer per request


def ok(doc=DOC, headers=JSON_HEADERS) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(doc).encode(), headers=headers)


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": location})


def fetcher(handler, resolver=None, **policy) -> GuardedFetcher:
    resolver = {"example.org": [PUBLIC], "issuer.example": [PUBLIC_2]} if resolver is None else resolver
    return GuardedFetcher(FetchPolicy(**policy), transport=httpx.MockTransport(handler), resolver=resolver)


def refused(f: GuardedFetcher, url: str) -> str:
    with pytest.raises(FetchRefusedError) as info:
        f.fetch_json(url)
    return str(info.value)


# --- success and pinning ---------------------------------------------------------------------------------------------

def test_success_returns_final_url_and_parsed_json_and_pins_the_vetted_address():
    handler = Recorder({("example.org", "/c.json"): ok()})
    final, doc = fetcher(handler).fetch_json("https://example.org/c.json?id=7")
    assert (final, doc) == ("https://example.org/c.json?id=7", DOC)
    [request] = handler.requests
    # Pinned: the request goes to the address that was checked; the name travels in Host and in the TLS SNI.
    assert str(request.url) == f"https://{PUBLIC}/c.json?id=7"
    assert request.headers["host"] == "example.org"
    assert request.extensions["sni_hostname"] == "example.org"
    assert "application/json" in request.headers["accept"]


def test_ipv6_address_is_pinned_in_brackets_and_non_default_port_kept_in_host():
    handler = Recorder({("v6.example:8443", "/d"): ok()})
    f = fetcher(handler, resolver={"v6.example": [PUBLIC_V6]})
    assert f.fetch_json("https://v6.example:8443/d") == ("https://v6.example:8443/d", DOC)
    assert str(handler.requests[0].url) == f"https://[{PUBLIC_V6}]:8443/d"


def test_resolver_is_asked_once_per_hop_so_a_rebinding_answer_is_never_used():
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # a rebinding DNS server: public for the check, loopback afterwards
    calls = []

    def resolver(host, port):
        calls.append((host, port))
        return next(answers)

    handler = Recorder({("example.org", "/c"): ok()})
    fetcher(handler, resolver=resolver).fetch_json("https://example.org/c")
    assert calls == [("example.org", 443)]
    assert handler.requests[0].url.host == PUBLIC


@pytest.mark.parametrize("ctype", ["application/json", "application/ld+json; charset=utf-8", "application/vc+json",
                                   "application/did+json", "Application/VC+LD+JSON"])
def test_json_content_types_are_accepted(ctype):
    handler = Recorder({("example.org", "/c"): ok(headers={"content-type": ctype})})
    assert fetcher(handler).fetch_json("https://example.org/c")[1] == DOC


# --- URL refusals ----------------------------------------------------------------------------------------------------

def test_http_is_refused_by_default():
    handler = Recorder()
    assert refused(fetcher(handler), "http://example.org/c") == "refused: http is not allowed for example.org"
    assert handler.requests == []


def test_http_is_allowed_only_for_allow_http_hosts():
    handler = Recorder({("localhost:8000", "/c"): ok()})
    f = fetcher(handler, resolver={"localhost": ["127.0.0.1"], "example.org": [PUBLIC]},
                allow_http_hosts=frozenset({"localhost"}), allow_hosts=frozenset({"localhost"}))
    assert f.fetch_json("http://localhost:8000/c") == ("http://localhost:8000/c", DOC)
    assert "sni_hostname" not in handler.requests[0].extensions
    assert refused(f, "http://example.org/c") == "refused: http is not allowed for example.org"


def test_http_for_a_dev_host_does_not_lift_the_address_check():
    f = fetcher(Recorder(), resolver={"localhost": ["127.0.0.1"]}, allow_http_hosts=frozenset({"localhost"}))
    assert refused(f, "http://localhost/c") == "refused: localhost resolves to 127.0.0.1, which is a loopback address"


@pytest.mark.parametrize("url", ["ftp://example.org/c", "file:///etc/passwd", "gopher://example.org/"])
def test_other_schemes_are_refused(url):
    assert "is not allowed" in refused(fetcher(Recorder()), url)


def test_userinfo_is_refused_without_echoing_it():
    message = refused(fetcher(Recorder()), "https://alice:s3cret-pw@example.org/c")
    assert message == "refused: the URL for example.org carries user info (credentials)"
    assert "s3cret" not in message and "alice" not in message


def test_query_secrets_never_appear_in_messages():
    handler = Recorder({("example.org", "/c"): ok(headers={"content-type": "text/html"})})
    for url in ("https://10.0.0.5/c?token=SECRET", "https://example.org/c?token=SECRET#SECRET"):
        assert "SECRET" not in refused(fetcher(handler), url)


@pytest.mark.parametrize("url,port", [("https://example.org:0/", 0), ("https://example.org:70000/", 70000)])
def test_insane_ports_are_refused(url, port):
    assert refused(fetcher(Recorder()), url) == f"refused: port {port} is not allowed for example.org"


def test_allowed_ports_restricts_ports():
    f = fetcher(Recorder({("example.org", "/c"): ok()}), allowed_ports=frozenset({443}))
    assert f.fetch_json("https://example.org/c")[1] == DOC
    assert refused(f, "https://example.org:22/c") == "refused: port 22 is not allowed for example.org"


@pytest.mark.parametrize("url", ["not a url", "/relative/path", "https:///nohost"])
def test_malformed_urls_are_refused(url):
    refused(fetcher(Recorder()), url)


# --- address refusals ------------------------------------------------------------------------------------------------

REFUSED_ADDRESSES = [
    ("10.0.0.5", "a private address"),
    ("172.16.3.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("127.0.0.1", "a loopback address"),
    ("169.254.169.254", "a link-local address"),  # cloud metadata endpoint
    ("224.0.0.1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),
    ("240.0.0.1", "a reserved address"),
    ("100.64.0.1", "not a globally routable address"),  # RFC 6598 shared address space
    ("::1", "a loopback address"),
    ("::", "an unspecified address"),
    ("fe80::1", "a link-local address"),
    ("febf:ffff::1", "a link-local address"),  # still inside fe80::/10
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:127.0.0.1", "a loopback address (IPv4-mapped 127.0.0.1)"),
    ("::ffff:10.0.0.5", "a private address (IPv4-mapped 10.0.0.5)"),
    ("::ffff:169.254.169.254", "a link-local address (IPv4-mapped 169.254.169.254)"),
    ("2002:7f00:1::", "a loopback address (6to4 127.0.0.1)"),
    ("2002:a00:5::1", "a private address (6to4 10.0.0.5)"),
    ("64:ff9b::7f00:1", "a loopback address (NAT64 127.0.0.1)"),
]


@pytest.mark.parametrize("address,reason", REFUSED_ADDRESSES)
def test_refused_address_reasons(address, reason):
    import ipaddress
    assert refused_address_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", [PUBLIC, PUBLIC_V6, "8.8.8.8", "2a00:1450:4001:82b::200e"])
def test_public_addresses_are_not_refused(address):
    import ipaddress
    assert refused_address_reason(ipaddress.ip_address(address)) is None


def test_teredo_with_a_private_embedded_client_is_refused():
    import ipaddress
    # Teredo 2001:0::/32: server 65.54.227.120, client = ~0x3fff_fffa... obfuscated; client here is 192.168.0.1
    client = int(ipaddress.IPv4Address("192.168.0.1")) ^ 0xFFFFFFFF
    address = ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.IPv4Address("65.54.227.120")) << 64) | client)
    assert address.teredo[1] == ipaddress.IPv4Address("192.168.0.1")
    assert refused_address_reason(address) == "a private address (Teredo 192.168.0.1)"


@pytest.mark.parametrize("address,reason", REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_refused_address_is_refused_before_any_request(address, reason):
    handler = Recorder({("intranet.example", "/c"): ok()})
    message = refused(fetcher(handler, resolver={"intranet.example": [address]}), "https://intranet.example/c")
    import ipaddress
    shown = ipaddress.ip_address(address)  # the compressed form: ::ffff:127.0.0.1 shows as ::ffff:7f00:1
    assert message == f"refused: intranet.example resolves to {shown}, which is {reason}"
    assert handler.requests == []


@pytest.mark.parametrize("literal,shown", [("10.0.0.5", "10.0.0.5"), ("[::1]", "::1"), ("[fe80::1]", "fe80::1"),
                                           ("[fc00::1]", "fc00::1"), ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
                                           ("127.0.0.1", "127.0.0.1")])
def test_ip_literals_are_checked_without_resolution(literal, shown):
    def resolver(host, port):  # must not be consulted for a literal
        raise AssertionError("resolver called for an IP literal")

    message = refused(fetcher(Recorder(), resolver=resolver), f"https://{literal}/c")
    assert message.startswith(f"refused: {shown} is ")


def test_exact_message_for_a_private_literal():
    assert refused(fetcher(Recorder()), "https://10.0.0.5/c") == "refused: 10.0.0.5 is a private address"


def test_one_bad_address_among_good_ones_is_enough_to_refuse():
    handler = Recorder({("mixed.example", "/c"): ok()})
    f = fetcher(handler, resolver={"mixed.example": [PUBLIC, "10.1.2.3"]})
    assert refused(f, "https://mixed.example/c") == \
        "refused: mixed.example resolves to 10.1.2.3, which is a private address"
    assert handler.requests == []


def test_allow_hosts_admits_a_name_with_a_private_address():
    handler = Recorder({("registry.internal", "/c"): ok()})
    f = fetcher(handler, resolver={"registry.internal": ["10.9.8.7"], "other.internal": ["10.9.8.7"]},
                allow_hosts=frozenset({"Registry.Internal"}))
    assert f.fetch_json("https://registry.internal/c")[1] == DOC
    assert handler.requests[0].url.host == "10.9.8.7"
    assert "private" in refused(f, "https://other.internal/c")


def test_allow_networks_admits_addresses_inside_them_only():
    handler = Recorder({("a.internal", "/c"): ok(), ("10.0.0.5", "/c"): ok(), ("[fd00::7]", "/c"): ok()})
    f = fetcher(handler, resolver={"a.internal": ["10.0.0.9"], "b.internal": ["10.1.0.9"]},
                allow_networks=("10.0.0.0/24", "fd00::/64"))
    assert f.fetch_json("https://a.internal/c")[1] == DOC
    assert f.fetch_json("https://10.0.0.5/c")[1] == DOC
    assert f.fetch_json("https://[fd00::7]/c")[1] == DOC
    assert refused(f, "https://b.internal/c") == "refused: b.internal resolves to 10.1.0.9, which is a private address"


# --- redirects -------------------------------------------------------------------------------------------------------

def test_redirects_are_followed_by_hand_and_each_hop_is_resolved_and_pinned():
    handler = Recorder({
        ("example.org", "/start"): redirect("https://issuer.example/a", 301),
        ("issuer.example", "/a"): redirect("/b?x=1", 307),  # relative Location
        ("issuer.example", "/b"): ok(),
    })
    final, doc = fetcher(handler).fetch_json("https://example.org/start")
    assert (final, doc) == ("https://issuer.example/b?x=1", DOC)
    assert [r.url.host for r in handler.requests] == [PUBLIC, PUBLIC_2, PUBLIC_2]
    assert [r.extensions["sni_hostname"] for r in handler.requests] == ["example.org", "issuer.example",
                                                                        "issuer.example"]


def test_redirect_to_a_private_address_after_a_public_one_is_refused():
    handler = Recorder({("example.org", "/start"): redirect("https://metadata.example/latest")})
    f = fetcher(handler, resolver={"example.org": [PUBLIC], "metadata.example": ["169.254.169.254"]})
    assert refused(f, "https://example.org/start") == \
        "refused: metadata.example resolves to 169.254.169.254, which is a link-local address"
    assert len(handler.requests) == 1  # the private target never saw a request


def test_redirect_to_a_private_literal_is_refused():
    handler = Recorder({("example.org", "/start"): redirect("https://127.0.0.1:8080/admin")})
    assert refused(fetcher(handler), "https://example.org/start") == "refused: 127.0.0.1 is a loopback address"
    assert len(handler.requests) == 1


def test_redirect_downgrade_to_http_is_refused():
    handler = Recorder({("example.org", "/start"): redirect("http://example.org/plain")})
    assert refused(fetcher(handler), "https://example.org/start") == "refused: http is not allowed for example.org"


def test_exactly_max_redirects_is_fine_and_one_more_is_refused():
    routes = {("example.org", f"/{i}"): redirect(f"/{i + 1}") for i in range(4)}
    routes[("example.org", "/4")] = ok()
    handler = Recorder(routes)
    assert fetcher(handler).fetch_json("https://example.org/1") == ("https://example.org/4", DOC)
    handler.requests.clear()
    assert refused(fetcher(handler), "https://example.org/0").startswith("refused: more than 3 redirects")
    assert len(handler.requests) == 4  # the original request and three redirects, no fifth request


def test_a_redirect_loop_is_refused():
    handler = Recorder({("example.org", "/loop"): redirect("/loop")})
    assert "more than 1 redirects" in refused(fetcher(handler, max_redirects=1), "https://example.org/loop")


def test_redirect_without_location_is_refused():
    handler = Recorder({("example.org", "/r"): httpx.Response(302)})
    assert refused(fetcher(handler), "https://example.org/r") == "refused: example.org redirected without a Location"


def test_redirect_with_userinfo_is_refused_without_echoing_it():
    handler = Recorder({("example.org", "/r"): redirect("https://bob:hunter2@issuer.example/c")})
    message = refused(fetcher(handler), "https://example.org/r")
    assert "user info" in message and "hunter2" not in message


# --- size ------------------------------------------------------------------------------------------------------------

class CountingBody:
    """A streamed body (no Content-Length) that counts how many chunks were pulled from it."""

    def __init__(self, chunk: bytes, count: int):
        self.chunk, self.count, self.pulled = chunk, count, 0

    def __iter__(self):
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


def test_a_streamed_answer_is_cut_at_max_bytes_without_reading_it_whole():
    body = CountingBody(b" " * 1024, 10_000)  # 10 MiB on offer
    handler = Recorder({("example.org", "/big"): httpx.Response(200, content=body, headers=JSON_HEADERS)})
    assert refused(fetcher(handler, max_bytes=4096), "https://example.org/big") == \
        "refused: answer from example.org larger than 4096 bytes"
    assert body.pulled == 5  # stopped right after the chunk that crossed the limit


def test_default_limit_is_one_mebibyte():
    body = CountingBody(b" " * 65536, 100)
    handler = Recorder({("example.org", "/big"): httpx.Response(200, content=body, headers=JSON_HEADERS)})
    assert refused(fetcher(handler), "https://example.org/big") == \
        "refused: answer from example.org larger than 1048576 bytes"
    assert body.pulled == 17


def test_an_answer_of_exactly_max_bytes_is_accepted():
    payload = json.dumps({"k": "v" * 100}).encode()
    handler = Recorder({("example.org", "/c"): lambda: httpx.Response(200, content=iter([payload]),
                                                                       headers=JSON_HEADERS)})
    assert fetcher(handler, max_bytes=len(payload)).fetch_json("https://example.org/c")[1] == {"k": "v" * 100}
    assert "larger than" in refused(fetcher(handler, max_bytes=len(payload) - 1), "https://example.org/c")


def test_a_declared_content_length_over_the_limit_is_refused_before_reading():
    body = CountingBody(b" " * 10, 1)
    headers = {**JSON_HEADERS, "content-length": "999999"}
    handler = Recorder({("example.org", "/c"): httpx.Response(200, content=body, headers=headers)})
    assert "larger than 1000 bytes" in refused(fetcher(handler, max_bytes=1000), "https://example.org/c")
    assert body.pulled == 0


def test_gzip_answers_are_decoded_and_a_gzip_bomb_is_cut_at_max_bytes():
    small = gzip.compress(json.dumps(DOC).encode())
    headers = {**JSON_HEADERS, "content-encoding": "gzip"}
    handler = Recorder({
        ("example.org", "/small"): httpx.Response(200, content=iter([small]), headers=headers),
        ("example.org", "/bomb"): httpx.Response(200, content=iter([gzip.compress(b" " * 50_000_000)]),
                                                 headers=headers),
    })
    f = fetcher(handler)
    assert f.fetch_json("https://example.org/small")[1] == DOC
    assert refused(f, "https://example.org/bomb") == "refused: answer from example.org larger than 1048576 bytes"


def test_unknown_content_encoding_is_refused():
    headers = {**JSON_HEADERS, "content-encoding": "br"}
    handler = Recorder({("example.org", "/c"): httpx.Response(200, content=iter([b"{}"]), headers=headers)})
    assert refused(fetcher(handler), "https://example.org/c") == \
        "refused: content encoding br from example.org is not accepted"


# --- content ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ctype,shown", [("text/html; charset=utf-8", "text/html"), ("text/plain", "text/plain"),
                                         ("application/javascript", "application/javascript"), (None, "(none)")])
def test_non_json_content_types_are_refused_before_reading(ctype, shown):
    body = CountingBody(b"{}", 1)
    headers = {"content-type": ctype} if ctype else {}
    handler = Recorder({("example.org", "/c"): httpx.Response(200, content=body, headers=headers)})
    assert refused(fetcher(handler), "https://example.org/c") == \
        f"refused: content type {shown} from example.org is not JSON"
    assert body.pulled == 0


def test_content_types_are_configurable():
    handler = Recorder({("example.org", "/c"): ok(headers={"content-type": "application/ld+json"})})
    f = fetcher(handler, content_types=frozenset({"application/did+json"}))
    assert "content type application/ld+json" in refused(f, "https://example.org/c")


@pytest.mark.parametrize("body", [b"<html>", b"{\"a\": NaN}", b"\xff\xfe\x00garbage", b""])
def test_invalid_json_is_refused(body):
    handler = Recorder({("example.org", "/c"): httpx.Response(200, content=body, headers=JSON_HEADERS)})
    assert refused(fetcher(handler), "https://example.org/c").startswith(
        "refused: answer from example.org is not valid JSON")


# --- unavailability --------------------------------------------------------------------------------------------------

def unavailable(f: GuardedFetcher, url: str) -> str:
    with pytest.raises(FetchUnavailableError) as info:
        f.fetch_json(url)
    return str(info.value)


def test_dns_failure_is_unavailable():
    def resolver(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert unavailable(fetcher(Recorder(), resolver=resolver), "https://nowhere.example/c") == \
        "unavailable: could not resolve nowhere.example"
    assert unavailable(fetcher(Recorder(), resolver={}), "https://nowhere.example/c") == \
        "unavailable: could not resolve nowhere.example"


def test_resolver_garbage_is_unavailable_not_a_crash():
    f = fetcher(Recorder(), resolver={"odd.example": ["not-an-ip"]})
    assert "could not resolve odd.example" in unavailable(f, "https://odd.example/c")


@pytest.mark.parametrize("exc,expected", [
    (httpx.ConnectError("connection refused"), "unavailable: could not connect to example.org: ConnectError"),
    (httpx.ConnectTimeout("slow"), "unavailable: example.org did not answer within 5 s"),
    (httpx.ReadTimeout("slow"), "unavailable: example.org did not answer within 5 s"),
])
def test_network_failures_are_unavailable(exc, expected):
    def handler(request):
        raise exc

    assert unavailable(fetcher(handler), "https://example.org/c") == expected


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_error_statuses_are_unavailable(status):
    handler = Recorder({("example.org", "/c"): httpx.Response(status)})
    assert unavailable(fetcher(handler), "https://example.org/c") == f"unavailable: example.org answered HTTP {status}"


def test_the_timeout_is_one_deadline_for_the_whole_fetch():
    now = [0.0]

    def clock():
        return now[0]

    def slow_chunks():
        for _ in range(10):
            now[0] += 1.0  # each chunk takes a second: none is slow, all together are
            yield b" "

    handler = Recorder({("example.org", "/c"): httpx.Response(200, content=slow_chunks(), headers=JSON_HEADERS)})
    f = GuardedFetcher(FetchPolicy(timeout=3), transport=httpx.MockTransport(handler),
                       resolver={"example.org": [PUBLIC]}, clock=clock)
    assert unavailable(f, "https://example.org/c") == "unavailable: example.org did not answer within 3 s"


def test_each_request_carries_the_remaining_time_as_its_timeout():
    handler = Recorder({("example.org", "/c"): ok()})
    f = GuardedFetcher(FetchPolicy(timeout=2.5), transport=httpx.MockTransport(handler),
                       resolver={"example.org": [PUBLIC]}, clock=lambda: 100.0)
    f.fetch_json("https://example.org/c")
    assert handler.requests[0].extensions["timeout"]["read"] == pytest.approx(2.5)


# --- errors and policy -----------------------------------------------------------------------------------------------

def test_error_kinds_belong_to_the_verifier_family():
    assert issubclass(FetchRefusedError, InvalidInputError)
    assert issubclass(FetchUnavailableError, EvidenceUnavailableError)
    error = FetchRefusedError("10.0.0.5 is a private address", host="10.0.0.5")
    assert (error.host, error.reason, error.diagnostics()) == ("10.0.0.5", "10.0.0.5 is a private address",
                                                               "refused: 10.0.0.5 is a private address")


def test_policy_defaults():
    policy = FetchPolicy()
    assert policy.allowed_schemes == frozenset({"https"})
    assert (policy.max_bytes, policy.timeout, policy.max_redirects) == (1048576, 5.0, 3)
    assert {"application/json", "application/ld+json", "application/vc+ld+json", "application/vc+json",
            "application/did+json"} <= policy.content_types
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_bytes = 5


@pytest.mark.parametrize("kwargs", [{"max_bytes": 0}, {"timeout": 0}, {"max_redirects": -1},
                                    {"allowed_schemes": frozenset({"ftp"})}, {"allow_networks": ("not-a-net",)}])
def test_policy_misuse_is_a_value_error(kwargs):
    with pytest.raises(ValueError):
        FetchPolicy(**kwargs)


def test_default_resolver_answers_numeric_hosts_without_a_lookup():
    # getaddrinfo with a numeric host parses it locally: no DNS traffic.
    assert set(default_resolver("127.0.0.1", 443)) == {"127.0.0.1"}
