"""The issuer's status list encoder (issuer.status.bitstring): bit order and encoding as the spec and the reference
implementation (@digitalbazaar, in ../shared/conformance/cross-impl-vectors) have them."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

from issuer.status.bitstring import MIN_LIST_SIZE, Bitstring, encode_list

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cross-impl-vectors"


def _vector(name: str) -> dict:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"{path} not found (../shared/conformance is read in place)")
    return json.loads(path.read_text("utf-8"))


def _raw(encoded: str) -> bytes:
    assert encoded.startswith("u")
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))


def test_bit_7_encodes_byte_for_byte_as_the_reference_list():
    # The revoked example credential points at index 7 of status-list-1.json, whose only set bit it is.
    revoked = _vector("vc2-eddsa-rdfc-2022-revoked.json")
    listed = _vector("status-list-1.json")
    index = int(revoked["credentialStatus"]["statusListIndex"])
    bits = Bitstring(MIN_LIST_SIZE, [index])
    assert bits.encode() == listed["credentialSubject"]["encodedList"]


def test_index_0_is_the_most_significant_bit_of_the_first_byte():
    bits = Bitstring()
    bits.set(0)
    bits.set(9)
    bits.set(MIN_LIST_SIZE - 1)
    raw = _raw(bits.encode())
    assert len(raw) == MIN_LIST_SIZE // 8
    assert raw[0] == 0x80 and raw[1] == 0x40 and raw[-1] == 0x01 and not any(raw[2:-1])
    assert bits.ones() == [0, 9, MIN_LIST_SIZE - 1]
    bits.clear(9)
    assert not bits.get(9) and bits.get(0)
    assert bits.ones() == [0, MIN_LIST_SIZE - 1]


def test_encoding_is_deterministic_and_unpadded():
    a, b = Bitstring(ones=[5, 77]), Bitstring(ones=[77, 5])
    assert a.encode() == b.encode() == encode_list(a.to_bytes())
    assert "=" not in a.encode()


@pytest.mark.parametrize("size", [MIN_LIST_SIZE - 8, MIN_LIST_SIZE + 1, 0, "131072"])
def test_a_list_smaller_than_the_spec_minimum_or_odd_is_refused(size):
    with pytest.raises(ValueError, match="multiple of 8"):
        Bitstring(size)


@pytest.mark.parametrize("index", [-1, MIN_LIST_SIZE, 1.0, True])
def test_an_index_outside_the_list_is_refused(index):
    with pytest.raises(ValueError, match=r"index must be 0\.\.131071"):
        Bitstring().set(index)
