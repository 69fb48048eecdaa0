"""A job's output folder: who may write it, one writer at a time, and how it is read back.

Writing (:class:`JobFolder`): a folder becomes a job folder when ``quotetrace run`` first writes
into it, and it is marked so (``.quotetrace-job``). A run refuses any other non-empty folder, an
existing file, ``/`` and a folder that holds the job's own inputs, because the runner replaces
and deletes files in its output folder (stage caches, shards, final tables). One run at a time
holds the folder's lock (``.quotetrace-job.lock``, an advisory ``flock`` released by the kernel
when the process dies, so a killed run never leaves a stale lock); a second one fails at once.

Reading (:func:`read_job`): every reader of a finished job (``inspect``, ``report``, ``export``,
``trace``) goes through here. The manifest, written last, lists each table's sha256; a table
that does not match it comes from another run (a rerun killed while it replaced the tables) or
was changed, and is refused, as is a marked job folder without a manifest (a run that never
finished). A folder of tables without marker or manifest (tables written by hand or by another
tool) is read as it is.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
from pathlib import Path
from typing import IO, Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from pipeline import __version__
from pipeline.errors import InputError
from pipeline.integrity import DamagedCache, parquet_frame, sha256_bytes, sha256_file
from pipeline.io import write_json_atomic

MARKER = ".quotetrace-job"
LOCK = ".quotetrace-job.lock"
MANIFEST = "manifest.json"
#: Names of the temporary files of :func:`pipeline.io.atomic_path` (left behind by a kill).
TEMP_GLOB = ".*.tmp"

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None  # type: ignore[assignment]


class OutputFolderError(InputError):
    """The output folder cannot be used (not ours, busy, a file, a disk error)."""


def enclosing_job(path: Path) -> Path | None:
    """The job folder that ``path`` is, or is inside of (the nearest marked one), if any."""
    path = Path(path).resolve()
    return next((folder for folder in (path, *path.parents) if (folder / MARKER).is_file()),
                None)


def _input_roots(inputs: list[str]) -> list[Path]:
    """The folders the job's inputs are read from: a folder itself, a file's folder, a glob's
    fixed prefix."""
    roots = []
    for spec in inputs:
        prefix = spec.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
        path = Path(prefix or ".")
        partial_name = glob.has_magic(spec) and not prefix.endswith(("/", os.sep))
        if partial_name or path.is_file() or not path.exists():
            path = path.parent
        roots.append(path.resolve())
    return roots


class JobFolder:
    """The output folder of one run, claimed and locked for the run's duration."""

    def __init__(self, path: Path, job_name: str, inputs: list[str]) -> None:
        self.path = Path(path)
        self.job_name = job_name
        self.inputs = inputs
        self.created = False
        self._lock: IO[str] | None = None

    @property
    def is_marked(self) -> bool:
        return (self.path / MARKER).is_file()

    def is_unmarked_job(self) -> bool:
        """A job folder of a version that wrote no marker: its manifest names quotetrace and
        every table it lists matches its sha256 (a folder that merely holds files with these
        names is not one)."""
        try:
            manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            files = manifest["files"]
            return (isinstance(manifest.get("packages"), dict)
                    and "quotetrace" in manifest["packages"] and "config_hash" in manifest
                    and isinstance(files, dict) and len(files) > 0
                    and all(Path(name).name == name
                            and sha256_file(self.path / name) == digest
                            for name, digest in files.items()))
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def check(self) -> None:
        """Refuse a folder that this run must not write into (nothing is written here)."""
        path, fix = self.path, "choose another --output folder"
        resolved = path.resolve()
        if path.exists() and not path.is_dir():
            raise OutputFolderError(f"{path}: is an existing file, not a folder; {fix}")
        if resolved == Path(resolved.anchor):
            raise OutputFolderError(f"{path}: is the root of the file system; {fix}")
        for root in _input_roots(self.inputs):
            if resolved == root or resolved in root.parents:
                raise OutputFolderError(
                    f"{path}: holds the job's inputs ({root}); the output folder must be "
                    f"another folder; {fix}")
        if (path.is_dir() and not self.is_marked and any(path.iterdir())
                and not self.is_unmarked_job()):
            raise OutputFolderError(
                f"{path}: folder is not empty and is not a quotetrace job folder (no {MARKER}); "
                f"quotetrace replaces files in its output folder, so {fix} (or an empty one)")

    def claim(self) -> None:
        """Check, create, lock and mark the folder; remove temporary files a kill left."""
        self.check()
        self.created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.path / LOCK, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise OutputFolderError(
                f"{self.path}: cannot write here ({error.strerror}); choose another --output "
                "folder") from None
        if fcntl is not None:
            try:
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lock.close()
                self._lock = None
                raise OutputFolderError(
                    f"{self.path}: another quotetrace run is writing this job folder; wait for "
                    "it to finish or choose another --output folder") from None
        if not self.is_marked:
            write_json_atomic(self.path / MARKER, {"quotetrace": __version__,
                                                   "job": self.job_name})
        self.remove_temporary_files()

    def remove_temporary_files(self) -> int:
        """Delete the temporary files of writes a kill interrupted (only we write here now)."""
        removed = 0
        for stale in self.path.rglob(TEMP_GLOB):
            if stale.is_file():
                with contextlib.suppress(OSError):
                    stale.unlink()
                    removed += 1
        return removed

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                if fcntl is not None:
                    fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
                self._lock.close()
            self._lock = None


# ---------------------------------------------------------------------------------- reading

def read_manifest(output_dir: Path) -> dict[str, Any]:
    """A job's manifest (``{}`` when absent); InputError when it is damaged or not an object."""
    path = Path(output_dir) / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError
        raise InputError(f"{path}: not valid JSON ({error}); rerun `quotetrace run CONFIG` "
                         "to rewrite it") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: not a JSON object; rerun `quotetrace run CONFIG` to "
                         "rewrite it")
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise InputError(f"{path}: 'files' is not a mapping of file names to sha256 sums; "
                         "rerun `quotetrace run CONFIG` to rewrite it")
    return manifest


def manifest_section(manifest: dict[str, Any], name: str, model: type[BaseModel]) -> BaseModel:
    """One config section of the manifest, validated (defaults for what it does not set)."""
    config = manifest.get("config") or {}
    section = config.get(name) if isinstance(config, dict) else None
    try:
        return model.model_validate(section or {})
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in (name, *first["loc"]))
        raise InputError(f"{MANIFEST}: config value '{key}' is invalid ({first['msg']}); "
                         "rerun `quotetrace run CONFIG` to rewrite the manifest") from None


def read_job(output_dir: Path | str, names: tuple[str, ...],
             optional: tuple[str, ...] = ()) -> tuple[dict[str, pd.DataFrame | None],
                                                       dict[str, Any]]:
    """The named tables (``<name>.parquet``) of a finished job, checked against its manifest.

    A table in ``optional`` that is absent comes back as None. Raises InputError (exit 3) with
    the fix for a missing folder or table, an unfinished or mixed job, or a damaged file.
    """
    output_dir = Path(output_dir)
    rerun = "rerun `quotetrace run CONFIG` (it resumes from its caches)"
    if not output_dir.is_dir():
        raise InputError(f"{output_dir}: no such output folder; run `quotetrace run CONFIG` "
                         "first (the folder is the config's `output`)")
    manifest = read_manifest(output_dir)
    marked = (output_dir / MARKER).is_file()
    if not manifest and marked:
        raise InputError(f"{output_dir}: the job did not finish (no {MANIFEST}: a run was "
                         f"interrupted or failed while writing its outputs); {rerun}")
    if marked and not manifest.get("files"):
        raise InputError(f"{output_dir / MANIFEST}: lists no table checksums ('files'), so "
                         f"its tables cannot be checked; {rerun}")
    missing = [f"{name}.parquet" for name in names
               if name not in optional and not (output_dir / f"{name}.parquet").is_file()]
    if missing:
        raise InputError(f"{output_dir}: no {', '.join(missing)} here; run `quotetrace run "
                         "CONFIG` first so that the job's outputs exist")
    sums: dict[str, str] = manifest.get("files", {})
    tables: dict[str, pd.DataFrame | None] = {}
    for name in names:
        path = output_dir / f"{name}.parquet"
        if not path.is_file():
            if path.name in sums:
                raise InputError(f"{path}: missing, though the job's {MANIFEST} lists it; "
                                 f"{rerun}")
            tables[name] = None
            continue
        data = path.read_bytes()  # read once: checked, then parsed from memory
        if path.name in sums and sha256_bytes(data) != sums[path.name]:
            raise InputError(
                f"{path}: does not match the job's {MANIFEST} (it comes from another run, "
                f"whose rewrite of the outputs was interrupted, or was changed); {rerun}")
        try:
            tables[name] = parquet_frame(data, path.name)
        except DamagedCache as error:
            raise InputError(f"{path}: cannot be read ({str(error)[:200]}); {rerun}") from None
    return tables, manifest
