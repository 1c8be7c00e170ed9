"""Which response encoding an Accept-Encoding header asks for, and inflating request bodies."""

from __future__ import annotations

import gzip
import zlib

import pytest

from repository_server.errors import PayloadTooLargeError
from repository_server.http.compression import (
    accepted_encoding,
    compress_response,
    inflate_request,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("br", None),
        ("gzip", "gzip"),
        ("GZIP", "gzip"),
        ("deflate, gzip", "deflate"),
        ("br;q=1.0, gzip;q=0.5", "gzip"),
        ("gzip;q=0, deflate", "deflate"),
        ("gzip; q=0.0", None),
        ("gzip;q=oops", "gzip"),
    ],
)
def test_accepted_encoding(header, expected):
    assert accepted_encoding(header) == expected


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_responses_inflate_as_clients_do(encoding):
    content = b'{"outputs": []}' * 100
    compressed = await compress_response(content, encoding)
    inflate = gzip.decompress if encoding == "gzip" else zlib.decompress
    assert inflate(compressed) == content


async def test_a_body_exactly_at_the_limit_inflates_and_one_byte_more_does_not():
    assert await inflate_request(gzip.compress(b"a" * 100), "gzip", 100) == b"a" * 100
    with pytest.raises(PayloadTooLargeError, match="decompressed request body exceeds"):
        await inflate_request(gzip.compress(b"a" * 101), "gzip", 100)


async def test_identity_and_no_encoding_leave_the_body_alone():
    assert await inflate_request(b"raw", None, 10) == b"raw"
    assert await inflate_request(b"raw", " Identity ", 10) == b"raw"
