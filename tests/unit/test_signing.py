"""Signatures as marketplace.md §1 defines them."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector import signing


def test_the_signed_text_is_time_method_path_and_raw_body() -> None:
    expected = hmac.new(b"k", b"1700000000.POST./api/v1/events.{}", hashlib.sha256).hexdigest()
    assert signing.signature("k", 1700000000, "post", "/api/v1/events", b"{}") == expected


def test_the_path_of_a_url_keeps_its_raw_query_only_when_there_is_one() -> None:
    assert signing.path_of("https://m.example/cb/1?a=1&b=%20") == "/cb/1?a=1&b=%20"
    assert signing.path_of("https://m.example/cb/1") == "/cb/1"
    assert signing.path_of("https://m.example") == "/"


@given(body=st.binary(max_size=200), secret=st.text(min_size=1, max_size=20))
def test_a_header_made_with_a_secret_verifies_with_that_secret(body: bytes, secret: str) -> None:
    header = signing.signature_header(secret, 1000, "POST", "/p", body)
    signing.verify(header, secrets=["other", secret], method="POST", path="/p", body=body, now=1000)


@given(body=st.binary(max_size=50), flip=st.integers(min_value=0, max_value=63))
def test_any_changed_signature_digit_is_refused(body: bytes, flip: int) -> None:
    header = signing.signature_header("s", 1000, "POST", "/p", body)
    digits = list(header.split("v1=")[1])
    digits[flip] = "0" if digits[flip] != "0" else "1"
    tampered = "t=1000,v1=" + "".join(digits)
    with pytest.raises(signing.SignatureError):
        signing.verify(tampered, secrets=["s"], method="POST", path="/p", body=body, now=1000)


def test_the_tolerance_is_inclusive_at_300_seconds() -> None:
    header = signing.signature_header("s", 1000, "GET", "/p", b"")
    signing.verify(header, secrets=["s"], method="GET", path="/p", body=b"", now=1300)
    with pytest.raises(signing.SignatureError, match="too far"):
        signing.verify(header, secrets=["s"], method="GET", path="/p", body=b"", now=1301)


def test_no_configured_secret_means_nothing_verifies() -> None:
    header = signing.signature_header("s", 1000, "GET", "/p", b"")
    with pytest.raises(signing.SignatureError):
        signing.verify(header, secrets=[], method="GET", path="/p", body=b"", now=1000)
