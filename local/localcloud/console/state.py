"""The whole local state in one file, and back; and a reset.

The file is a zip of SQLite copies — Tablestore rows, log records, sandbox users — plus a
manifest. Left out on purpose: the account's keys, the sandbox's RSA keys, the data key and the
STS credentials, which stay this cloud's own (a file handed to a colleague must not carry them,
and STS credentials last 15 minutes anyway), and the Alipay sandbox's access and refresh tokens
and unused auth codes (`LEFT_OUT`). So sessions from the file cannot refresh their Alipay tokens:
their users log in again, as after a data key rotation in the cloud. Beside the databases, the
file carries its `StatePart`s, each under a folder of its own: the users' files in the local OSS
(`oss/`, oss/exports.py).

An import checks the whole file before it changes anything: each database is unpacked into a
temporary folder (at most `MAX_UNPACKED_BYTES` in all, counted while unpacking, so a zip bomb is
refused early with little memory), opened read-only, checked, and its schema compared with this
cloud's; each part checks its own entries as strictly (the same budget counts their bytes). Only
then are the databases replaced, and the parts after them; should a replacement still fail, every
database is put back as it was (a part's replacement is all or nothing).
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import time
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..state import Database, Schema, schema_of

FORMAT = "localcloud-state"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # every database of a file together, unpacked
MAX_MANIFEST_BYTES = 64 * 1024
CHUNK = 1024 * 1024
# Per database, the tables that define things (a reset keeps them: the template's tables and
# logstores stay declared).
DEFINITIONS = {
    "tablestore": frozenset({"ots_tables"}),
    "sls": frozenset({"sls_projects", "sls_logstores", "sls_indexes"}),
    "alipay": frozenset({"apps"}),
}
# Tables that stay this cloud's own on import (the sandbox app registered with this cloud's keys).
OWN = {"alipay": frozenset({"apps"})}
# Tables exported empty: credentials of the sandbox, which a file handed on must not carry.
LEFT_OUT = {"alipay": ("access_tokens", "refresh_tokens", "auth_codes")}

# What a damaged, encrypted or oddly compressed zip entry raises while it is read.
UNPACK_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
)


class StateFileInvalid(ValueError):
    """The uploaded file is not a state export this cloud can read."""


class StatePart(Protocol):
    """State beside the databases, in the file under `{name}/` (the users' files in the local
    OSS: oss/exports.py)."""

    name: str

    def export(self, archive: zipfile.ZipFile) -> None: ...

    def check(
        self,
        archive: zipfile.ZipFile,
        entries: Mapping[str, zipfile.ZipInfo],
        folder: Path,
        budget: int,
    ) -> tuple[Any, int]:
        """The part's entries (all under `{name}/`) unpacked into `folder` and checked, ready
        to `replace` with; and the bytes they took of `budget`. StateFileInvalid otherwise."""
        ...

    def replace(self, checked: Any) -> None:
        """Make the part's state what `check` read, all at once or not at all."""
        ...

    def reset(self) -> None: ...


def export_state(
    databases: Mapping[str, Database], account_id: str, parts: Sequence[StatePart] = ()
) -> bytes:
    out = io.BytesIO()
    with (
        tempfile.TemporaryDirectory() as tmp,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for name, database in databases.items():
            path = Path(tmp) / f"{name}.sqlite3"
            database.copy_to(path)
            _strip(path, LEFT_OUT.get(name, ()))
            archive.write(path, path.name)
        for part in parts:
            part.export(archive)
        archive.writestr(
            MANIFEST,
            json.dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "exportedAt": int(time.time()),
                    "fromAccount": account_id,
                    "databases": sorted(databases),
                    "parts": [part.name for part in parts],
                    "leftOut": {name: list(tables) for name, tables in LEFT_OUT.items()},
                },
                indent=2,
            ),
        )
    return out.getvalue()


def _strip(path: Path, tables: tuple[str, ...]) -> None:
    """Empty `tables` of the copy at `path`, and rewrite it so no deleted row stays in its pages;
    one plain file (no write-ahead log beside it)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')
        conn.execute("VACUUM")
    finally:
        conn.close()


def import_state(
    databases: Mapping[str, Database], data: bytes, parts: Sequence[StatePart] = ()
) -> list[str]:
    """Replace each database, and each part, with its copy in the file; the names replaced (a
    part the file does not hold, as in a file from before it, stays as it is). Checks the whole
    file first: a refused file changes nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        copies, checked = _checked_copies(databases, parts, data, Path(tmp))
        _replace_all(databases, copies, Path(tmp), checked)
    return [*copies, *(part.name for part, _ in checked)]


def _checked_copies(
    databases: Mapping[str, Database], parts: Sequence[StatePart], data: bytes, folder: Path
) -> tuple[dict[str, Path], list[tuple[StatePart, Any]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        entries = {}
    if MANIFEST not in entries:
        raise StateFileInvalid(f"not a local cloud state export (a zip with {MANIFEST})")
    manifest = _manifest(archive, entries[MANIFEST])
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or manifest.get("version") != VERSION
    ):
        raise StateFileInvalid(f"not a {FORMAT} file of version {VERSION}")
    known = {f"{name}.sqlite3" for name in databases} | {MANIFEST}
    of_part = {
        p.name: {e: i for e, i in entries.items() if e.startswith(f"{p.name}/")} for p in parts
    }
    unknown = sorted(set(entries) - known - {e for held in of_part.values() for e in held})
    if unknown:
        raise StateFileInvalid(f"the file holds what no export holds: {', '.join(unknown[:5])}")
    names = [name for name in databases if f"{name}.sqlite3" in entries]
    if not names:
        raise StateFileInvalid("the file holds none of this cloud's databases")
    budget = MAX_UNPACKED_BYTES
    copies = {}
    for name in names:
        path = folder / f"{name}.sqlite3"
        budget -= unpack(archive, entries[path.name], path, budget)
        _check_database(path, databases[name].schema())
        copies[name] = path
    checked = []
    for part in parts:
        if of_part[part.name]:
            unpacked = folder / part.name
            unpacked.mkdir()
            ready, used = part.check(archive, of_part[part.name], unpacked, budget)
            budget -= used
            checked.append((part, ready))
    return copies, checked


def _manifest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> object:
    try:
        with archive.open(info) as source:
            raw = source.read(MAX_MANIFEST_BYTES + 1)  # no more, whatever it claims
    except UNPACK_ERRORS as exc:
        raise StateFileInvalid(f"{MANIFEST} in the file cannot be unpacked ({exc})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise StateFileInvalid(f"{MANIFEST} in the file is over {MAX_MANIFEST_BYTES} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise StateFileInvalid(f"{MANIFEST} in the file is not JSON") from None


def unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: int) -> int:
    """Write the entry's content to `path`, refusing it as soon as it passes `budget` bytes
    (whatever size it claims); the bytes written."""
    too_big = StateFileInvalid(
        f"{info.filename} in the file unpacks to more than the "
        f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MiB an import may hold"
    )
    if info.file_size > budget:
        raise too_big
    written = 0
    try:
        with archive.open(info) as source, path.open("wb") as target:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > budget:
                    raise too_big
                target.write(chunk)
    except UNPACK_ERRORS as exc:
        raise StateFileInvalid(f"{info.filename} in the file cannot be unpacked ({exc})") from None
    return written


def _check_database(path: Path, expected: Schema) -> None:
    """An SQLite database, intact, with exactly this cloud's schema; opened read-only."""
    with path.open("rb") as file:
        if file.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise StateFileInvalid(f"{path.name} in the file is not an SQLite database")
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            intact = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            found = schema_of(conn) if intact else {}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StateFileInvalid(f"{path.name} in the file cannot be read ({exc})") from None
    if not intact:
        raise StateFileInvalid(f"{path.name} in the file is damaged")
    if found != expected:
        missing = [name for kind, name in expected if (kind, name) not in found]
        extra = [name for kind, name in found if (kind, name) not in expected]
        other = [
            name
            for key in expected
            if key in found and found[key] != expected[key]
            for name in key[1:]
        ]
        said = [
            f"{what}: {', '.join(names)}"
            for what, names in (
                ("missing", missing),
                ("not this cloud's", extra),
                ("different", other),
            )
            if names
        ]
        raise StateFileInvalid(
            f"{path.name} in the file does not have this cloud's schema ({'; '.join(said)})"
        )


def _replace_all(
    databases: Mapping[str, Database],
    copies: Mapping[str, Path],
    folder: Path,
    parts: Sequence[tuple[StatePart, Any]] = (),
) -> None:
    """Replace each database with its checked copy, then each part; if one fails, put every
    database back (a part that failed changed nothing; one before it keeps the file's state)."""
    before = {}
    for name in copies:
        before[name] = folder / f"{name}.before.sqlite3"
        databases[name].copy_to(before[name])
    try:
        for name, path in copies.items():
            databases[name].replace_with(path, keep=OWN.get(name, frozenset()))
        for part, checked in parts:
            part.replace(checked)
    except BaseException:
        for name, path in before.items():
            databases[name].replace_with(path)
        raise


def reset_state(databases: Mapping[str, Database], parts: Sequence[StatePart] = ()) -> None:
    """Forget every row, record, user and user's file; the declared tables, logstores and buckets
    stay."""
    for name, database in databases.items():
        database.clear(DEFINITIONS.get(name, frozenset()))
    for part in parts:
        part.reset()
