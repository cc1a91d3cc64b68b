"""Writing the output folder: all files of a run, or none.

Outputs are written into a staging folder and moved into place only when
every one of them has been written, so that a failed run leaves no
half-written files behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def staged_outputs(output_dir: Path) -> Iterator[Path]:
    """Yield a staging folder whose files move into ``output_dir`` on success.

    If the block raises, the staging folder is deleted and ``output_dir`` is
    left as it was.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        yield staging
        for item in sorted(staging.iterdir()):
            os.replace(item, output_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as UTF-8 CSV with a BOM, so that Excel reads it."""
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
