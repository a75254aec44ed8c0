"""Files mockflow caches beside its bytecode (the parsed spec, fixture seeds): written whole or
not at all, and never at all where bytecode is not written either."""

from __future__ import annotations

import mmap
import os
import sys
import tempfile
from pathlib import Path


def write_whole(path: Path, data: bytes | mmap.mmap) -> bool:
    """Writes `data` to `path` through a temporary file and a rename, so a reader (another process
    starting at the same moment) sees the whole file or none. False when nothing was written:
    bytecode writing is off, or the install is read-only or full, which only costs a slower start."""
    if sys.dont_write_bytecode:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)  # no half-written file stays
        return False
    return True
