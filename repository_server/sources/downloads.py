"""Downloading model archives from remote URLs that `allowed_urls` lets through.

Learnt from TorchServe's CVE-2023-43654 (SSRF through a permissive default): nothing remote is
allowed unless a pattern says so, every pattern must match the whole URL (re.fullmatch, case
sensitive: `/Public/` is not `/public/`), each redirect hop is checked as if the client had sent
it, and the size is capped while the bytes stream in.
"""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from repository_server import __version__
from repository_server.errors import (
    ConfigurationError,
    DownloadFailedError,
    InvalidRequestError,
    ModelNotFoundError,
    ServerError,
)

REMOTE_SCHEMES = ("http", "https")
_CHUNK = 1 << 20


def check_allowed_urls(patterns: tuple[str, ...]) -> None:
    """Raises ConfigurationError naming the first pattern that is not a regular expression."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigurationError(
                f"--allowed-urls: {pattern!r} is not a regular expression: {error}"
            ) from None


def refuse_unless_allowed(url: str, allowed_urls: tuple[str, ...], *, origin: str = "") -> None:
    """Raises unless `url` is http(s) and fully matches one of `allowed_urls`.

    A refused URL answers TorchServe's 404 ModelNotFoundException `Given URL ... does not match
    any allowed URL(s)`; an unsupported scheme (file://, ftp://) is a 400.
    """
    scheme = urlsplit(url).scheme.lower()
    via = f" (redirected from {origin})" if origin else ""
    if scheme not in REMOTE_SCHEMES:
        raise InvalidRequestError(
            f"Unsupported URL scheme {scheme!r} in url: {url}{via}; only http and https archives "
            "are downloaded, other models must be in the repository or the model store"
        )
    if not any(re.fullmatch(pattern, url) for pattern in allowed_urls):
        raise ModelNotFoundError(
            origin or url, f"Given URL {url} does not match any allowed URL(s){via}"
        )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL the allowed patterns let through."""

    def __init__(self, allowed_urls: tuple[str, ...], origin: str) -> None:
        self.allowed_urls = allowed_urls
        self.origin = origin

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            refuse_unless_allowed(newurl, self.allowed_urls, origin=self.origin)
        except ServerError:
            fp.close()  # urllib closes the redirect's response only when it follows it
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _failed(url: str, why: str) -> DownloadFailedError:
    return DownloadFailedError(f"Failed to download archive from: {url} ({why})")


def download_archive(
    url: str, target: Path, *, allowed_urls: tuple[str, ...], max_bytes: int, timeout: float
) -> None:
    """Downloads `url` into the new file `target`, at most `max_bytes` bytes.

    Raises like `refuse_unless_allowed` for the URL or any redirect hop, and DownloadFailedError
    (400 DownloadArchiveException) for an HTTP error, a network failure or an oversize body; a
    partly written `target` is removed. Blocking: call it from a worker thread.
    """
    refuse_unless_allowed(url, allowed_urls)
    opener = urllib.request.build_opener(_CheckedRedirects(allowed_urls, url))
    request = urllib.request.Request(
        url, headers={"User-Agent": f"repository-server/{__version__}"}
    )
    with target.open("xb") as out:
        try:
            with opener.open(request, timeout=timeout) as response:
                declared = response.headers.get("Content-Length")
                _stream(response, out, url, max_bytes, declared)
        except urllib.error.HTTPError as error:
            error.close()
            target.unlink()
            raise _failed(url, f"HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            target.unlink()
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            raise _failed(url, str(reason) or type(error).__name__) from None
        except BaseException:
            target.unlink()
            raise


def _stream(
    response: IO[bytes], out: IO[bytes], url: str, max_bytes: int, declared: str | None
) -> None:
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _failed(url, f"{declared} bytes, over the limit of {max_bytes}")
    received = 0
    while chunk := response.read(_CHUNK):
        received += len(chunk)
        if received > max_bytes:
            raise _failed(url, f"more than the limit of {max_bytes} bytes")
        out.write(chunk)
