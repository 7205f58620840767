"""Files that ``python -m detectors.language build`` stores in ``detectors/_built`` for later starts
to read instead of building (the language-id tables, the merged Polish lexicon).

Each file is named ``KIND-KEY.pickle``, where the key hashes whatever its content depends on, so a
change finds no stored file and the content is built afresh.
"""
from __future__ import annotations

import os
import pickle
from typing import Any, Callable

#: Where the stored files live (not in git: each machine builds its own).
BUILT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_built")


def store(path: str, make: Callable[[], Any]) -> str:
    """Pickle ``make()`` to ``path`` unless it is there already, and remove the stale files of the
    same kind (the name's part before the first ``-``) beside it; returns ``path``. Written to a
    temporary file first, so a reader never sees half a file."""
    directory, name = os.path.split(path)
    kind = name.split("-", 1)[0] + "-"
    os.makedirs(directory, exist_ok=True)
    for old in os.listdir(directory):
        if old.startswith(kind) and old != name:
            os.remove(os.path.join(directory, old))
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(make(), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    return path
