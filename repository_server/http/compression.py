"""Triton's HTTP compression of inference bodies: a request body sent with `Content-Encoding:
gzip` or `deflate` (zlib format, as tritonclient sends it) is inflated, and a response is
compressed when `Accept-Encoding` asks for one of the two and it is at least
`MIN_COMPRESSED_SIZE` bytes (HTTP lets a server send any body as it is; below that size
compressing costs more than it saves, and clients such as httpx ask for it by default).
`Inference-Header-Content-Length` always counts the uncompressed JSON, as in Triton.

Inflating stops at `--max-request-size`, so a small compressed body cannot grow into a large one
in memory. Bodies larger than `_THREAD_THRESHOLD` are (de)compressed off the event loop.
"""

from __future__ import annotations

import asyncio
import zlib

from repository_server.errors import (
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedEncodingError,
)
from repository_server.http.limits import too_large_message

# zlib's window bits per Content-Encoding: 16 + 15 reads and writes the gzip wrapper.
_WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_IDENTITY = ("", "identity")
_THREAD_THRESHOLD = 256 * 1024
# Fast compression: the network saving is nearly the same, the CPU cost a fraction.
_LEVEL = 1
MIN_COMPRESSED_SIZE = 1024


async def inflate_request(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The request body as sent before compression; errors name the encoding and the problem."""
    if content_encoding is None:
        return body
    encoding = content_encoding.strip().lower()
    if encoding in _IDENTITY:
        return body
    bits = _WINDOW_BITS.get(encoding)
    if bits is None:
        raise UnsupportedEncodingError(
            f"unsupported Content-Encoding '{content_encoding}': use gzip, deflate or identity"
        )
    if len(body) > _THREAD_THRESHOLD:
        return await asyncio.to_thread(_inflate, body, encoding, bits, limit)
    return _inflate(body, encoding, bits, limit)


def _inflate(body: bytes, encoding: str, bits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(bits)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise InvalidRequestError(
            f"request body is not valid {encoding} data (Content-Encoding: {encoding}): {error}"
        ) from None
    if len(inflated) > limit:
        raise PayloadTooLargeError(f"decompressed {too_large_message(limit)}")
    if not inflater.eof:
        raise InvalidRequestError(
            f"request body is not valid {encoding} data (Content-Encoding: {encoding}): "
            "the compressed stream is truncated"
        )
    return inflated


def accepted_encoding(accept_encoding: str | None) -> str | None:
    """gzip or deflate, whichever `Accept-Encoding` lists first without `q=0`; None for neither."""
    if not accept_encoding:
        return None
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        coding = coding.strip().lower()
        if coding in _WINDOW_BITS and not _refused(parameters):
            return coding
    return None


def _refused(parameters: str) -> bool:
    for parameter in parameters.split(";"):
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value) <= 0
            except ValueError:
                return False
    return False


async def compress_response(content: bytes, encoding: str) -> bytes:
    if len(content) > _THREAD_THRESHOLD:
        return await asyncio.to_thread(_deflate, content, encoding)
    return _deflate(content, encoding)


def _deflate(content: bytes, encoding: str) -> bytes:
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WINDOW_BITS[encoding])
    return compressor.compress(content) + compressor.flush()
