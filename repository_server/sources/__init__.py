"""Where models come from on the management side: model names and versions as clients write
them, model archives unpacked safely, downloads from allowed URLs, and `POST /models url=`
resolved into a model folder of the repository. No HTTP framework is imported here."""

from repository_server.sources.archives import ARCHIVE_SUFFIXES, UnsafeArchiveError
from repository_server.sources.downloads import check_allowed_urls, refuse_unless_allowed
from repository_server.sources.names import parse_version_text, validate_model_name
from repository_server.sources.resolve import (
    DEFAULT_DOWNLOAD_TIMEOUT_SECS,
    DEFAULT_MAX_ARCHIVE_FILES,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_UNPACKED_BYTES,
    ModelSource,
    SourceKind,
    resolve_model_url,
)
from repository_server.sources.unpack import unpack_archive

__all__ = [
    "ARCHIVE_SUFFIXES",
    "DEFAULT_DOWNLOAD_TIMEOUT_SECS",
    "DEFAULT_MAX_ARCHIVE_FILES",
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "ModelSource",
    "SourceKind",
    "UnsafeArchiveError",
    "check_allowed_urls",
    "parse_version_text",
    "refuse_unless_allowed",
    "resolve_model_url",
    "unpack_archive",
    "validate_model_name",
]
