"""Fingerprints that tell changed files apart without reading model files."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from repository_server.repository.layout import is_hidden


@dataclass(frozen=True)
class FolderStats:
    """A version folder's fingerprint, what its top level holds, and when a file in it last
    changed (the newest mtime or ctime)."""

    fingerprint: str
    top_level_names: frozenset[str]
    newest_change_ns: int
    file_count: int


def folder_stats(folder: Path) -> FolderStats:
    """Fingerprints every non-hidden file below `folder` by relative path, size and mtime_ns.

    Symlinked folders are not followed (no loops, no escapes); symlinked files count by their
    target's size and mtime.
    """
    digest = hashlib.blake2b(digest_size=16)
    top_level: set[str] = set()
    newest = 0
    count = 0
    pending: list[tuple[str, str]] = [(os.fspath(folder), "")]
    while pending:
        path, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except OSError:
            continue  # removed while we looked: the next scan sees the new state
        for entry in entries:
            if is_hidden(entry.name):
                continue
            relative = prefix + entry.name
            if not prefix:
                top_level.add(entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, relative + "/"))
                    continue
                stat = entry.stat()
            except OSError:
                continue
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            # ctime too: `cp -p` back-dates mtime but not ctime, and a rename of the folder
            # around a finished copy changes neither of its files' times.
            newest = max(newest, stat.st_mtime_ns, stat.st_ctime_ns)
            count += 1
    return FolderStats(digest.hexdigest(), frozenset(top_level), newest, count)


class ContentHashCache:
    """Content hashes of small files (configs, labels), re-read only when their stat changes.

    Hashing the content means a `touch` changes nothing, while a rewrite always shows.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, int, int], str, bytes]] = {}

    def read(self, path: Path) -> tuple[str, bytes]:
        """(content hash, content) of the file; raises OSError when it cannot be read."""
        key = os.fspath(path)
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        cached = self._entries.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        content = path.read_bytes()
        digest = hashlib.blake2b(content, digest_size=16).hexdigest()
        self._entries[key] = (stamp, digest, content)
        return digest, content

    def forget_missing(self, seen: set[str]) -> None:
        for key in self._entries.keys() - seen:
            del self._entries[key]
