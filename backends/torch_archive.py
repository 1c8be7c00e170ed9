"""Telling what a `.pt`/`.pt2` file really is before torch tries it, so a wrong file gets a named
error instead of a miniz message: a TorchScript archive, a torch.export program, a plain pickle."""

from __future__ import annotations

import zipfile
from pathlib import Path

from backends.base import ModelLoadError

TORCHSCRIPT = "TorchScript"
EXPORTED_PROGRAM = "torch.export"

_SAVE_HINT = (
    "save the model with torch.jit.save(torch.jit.script(model), 'model.pt'), "
    "or export it with torch.export.save(torch.export.export(model, inputs), 'model.pt2')"
)
# The first byte of a pickle of protocol 2 or above.
_PICKLE_PROTOCOL = 0x80


def archive_kind(path: Path) -> str:
    """TORCHSCRIPT or EXPORTED_PROGRAM; any other file raises ModelLoadError saying what it is."""
    with path.open("rb") as file:
        head = file.read(4)
    if not head.startswith(b"PK"):
        if head[:1] == bytes([_PICKLE_PROTOCOL]):
            raise ModelLoadError(
                path,
                f"is a pickle (torch.save in the legacy format), not TorchScript: {_SAVE_HINT}",
            )
        raise ModelLoadError(path, "is not a TorchScript or torch.export archive (not a zip file)")
    try:
        with zipfile.ZipFile(path) as archive:
            # Entries sit under one top folder named after the file when it was saved.
            entries = {name.split("/", 1)[-1] for name in archive.namelist()}
    except zipfile.BadZipFile as error:
        raise ModelLoadError(path, f"is truncated or corrupt: {error}") from None
    if "archive_format" in entries:
        return EXPORTED_PROGRAM
    if "constants.pkl" in entries and "data.pkl" in entries:
        return TORCHSCRIPT
    # A torch.export archive embeds a torch.save() zip (its sample inputs): a truncated .pt2 can
    # look like that inner archive, so only a .pt file is called a pickle.
    if "data.pkl" in entries and path.suffix != ".pt2":
        raise ModelLoadError(
            path,
            "is a torch.save() pickle (a state_dict or a pickled module), not TorchScript: "
            + _SAVE_HINT,
        )
    raise ModelLoadError(
        path, "is truncated or corrupt: not a complete TorchScript or torch.export archive"
    )
