"""The whole local state in one file, and back; and a reset.

The file is a zip of SQLite copies — Tablestore rows, log records, sandbox users — plus a
manifest. Left out on purpose: the account's keys, the sandbox's RSA keys, the data key and the
STS credentials, which stay this cloud's own (a file handed to a colleague must not carry them,
and STS credentials last 15 minutes anyway). So Alipay tokens stored encrypted by another cloud
cannot be read here: such sessions fail to refresh and their users log in again, as after a data
key rotation in the cloud.
"""
from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from ..state import Database

FORMAT = "localcloud-state"
VERSION = 1
# Per database, the tables that define things (a reset keeps them: the template's tables and
# logstores stay declared).
DEFINITIONS = {"tablestore": frozenset({"ots_tables"}),
               "sls": frozenset({"sls_projects", "sls_logstores"}),
               "alipay": frozenset({"apps"})}
# Tables that stay this cloud's own on import (the sandbox app registered with this cloud's keys).
OWN = {"alipay": frozenset({"apps"})}


class StateFileInvalid(ValueError):
    """The uploaded file is not a state export this cloud can read."""


def export_state(databases: Mapping[str, Database], account_id: str) -> bytes:
    out = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, database in databases.items():
            path = Path(tmp) / f"{name}.sqlite3"
            database.copy_to(path)
            archive.write(path, path.name)
        archive.writestr("manifest.json", json.dumps({
            "format": FORMAT, "version": VERSION, "exportedAt": int(time.time()),
            "fromAccount": account_id, "databases": sorted(databases)}, indent=2))
    return out.getvalue()


def import_state(databases: Mapping[str, Database], data: bytes) -> list[str]:
    """Replace each database with its copy in the file; the names replaced. Checks the whole
    file before changing anything."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise StateFileInvalid("not a local cloud state export (a zip with manifest.json)") \
            from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("version") != VERSION:
        raise StateFileInvalid(f"not a {FORMAT} file of version {VERSION}")
    names = [n for n in databases if f"{n}.sqlite3" in archive.namelist()]
    if not names:
        raise StateFileInvalid("the file holds none of this cloud's databases")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name in names:
            path = Path(tmp) / f"{name}.sqlite3"
            path.write_bytes(archive.read(path.name))
            if path.read_bytes()[:16] != b"SQLite format 3\x00":
                raise StateFileInvalid(f"{path.name} in the file is not an SQLite database")
            paths[name] = path
        for name, path in paths.items():
            databases[name].replace_with(path, keep=OWN.get(name, frozenset()))
    return names


def reset_state(databases: Mapping[str, Database]) -> None:
    """Forget every row, record and user; the declared tables and logstores stay."""
    for name, database in databases.items():
        database.clear(DEFINITIONS.get(name, frozenset()))
