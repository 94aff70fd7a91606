"""The whole local state in one file, and back; and a reset.

The file is a zip of SQLite copies — Tablestore rows, log records, sandbox users — plus a
manifest. Left out on purpose: the account's keys, the sandbox's RSA keys, the data key and the
STS credentials, which stay this cloud's own (a file handed to a colleague must not carry them,
and STS credentials last 15 minutes anyway), and the Alipay sandbox's access and refresh tokens
and unused auth codes (`LEFT_OUT`). So sessions from the file cannot refresh their Alipay tokens:
their users log in again, as after a data key rotation in the cloud.

An import checks the whole file before it changes anything: each database is unpacked into a
temporary folder (at most `MAX_UNPACKED_BYTES` in all, counted while unpacking, so a zip bomb is
refused early with little memory), opened read-only, checked, and its schema compared with this
cloud's. Only then are the databases replaced; should a replacement still fail, every database is
put back as it was.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import time
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

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


def export_state(databases: Mapping[str, Database], account_id: str) -> bytes:
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
        archive.writestr(
            MANIFEST,
            json.dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "exportedAt": int(time.time()),
                    "fromAccount": account_id,
                    "databases": sorted(databases),
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


def import_state(databases: Mapping[str, Database], data: bytes) -> list[str]:
    """Replace each database with its copy in the file; the names replaced. Checks the whole
    file first: a refused file changes nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        copies = _checked_copies(databases, data, Path(tmp))
        _replace_all(databases, copies, Path(tmp))
    return list(copies)


def _checked_copies(
    databases: Mapping[str, Database], data: bytes, folder: Path
) -> dict[str, Path]:
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
    unknown = sorted(set(entries) - known)
    if unknown:
        raise StateFileInvalid(f"the file holds what no export holds: {', '.join(unknown[:5])}")
    names = [name for name in databases if f"{name}.sqlite3" in entries]
    if not names:
        raise StateFileInvalid("the file holds none of this cloud's databases")
    budget = MAX_UNPACKED_BYTES
    copies = {}
    for name in names:
        path = folder / f"{name}.sqlite3"
        budget -= _unpack(archive, entries[path.name], path, budget)
        _check_database(path, databases[name].schema())
        copies[name] = path
    return copies


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


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: int) -> int:
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
    databases: Mapping[str, Database], copies: Mapping[str, Path], folder: Path
) -> None:
    """Replace each database with its checked copy; if one fails, put every one back."""
    before = {}
    for name in copies:
        before[name] = folder / f"{name}.before.sqlite3"
        databases[name].copy_to(before[name])
    try:
        for name, path in copies.items():
            databases[name].replace_with(path, keep=OWN.get(name, frozenset()))
    except BaseException:
        for name, path in before.items():
            databases[name].replace_with(path)
        raise


def reset_state(databases: Mapping[str, Database]) -> None:
    """Forget every row, record and user; the declared tables and logstores stay."""
    for name, database in databases.items():
        database.clear(DEFINITIONS.get(name, frozenset()))
