"""The function packages a deploy ships: each function's zip as `make package` built it, and the
template with each function's Code pointed at its uploaded object."""

from __future__ import annotations

import copy
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DeployError

FUNCTION_TYPE = "ALIYUN::FC::Function"


def stack_prefix(stack: str) -> str:
    """Where a stack's packages live in the bucket: each stack has a folder of its own, so
    `make undeploy` removes exactly what deploys of that stack uploaded."""
    return f"packages/{stack}/"


@dataclass(frozen=True)
class Package:
    function: str  # the package name: build/<function>
    data: bytes = field(repr=False)
    stack: str = ""

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:20]
        return f"{stack_prefix(self.stack)}{self.function}-{digest}.zip"


def package_artifact(function: str, build_dir: Path, stack: str = "") -> Package:
    """The zip FC runs for `function`: build/<function>.zip exactly as `make package` wrote it
    (the one artifact; the local cloud runs its unpacked twin build/<function>). Its bytes are
    stable (sorted entries, fixed times), so an unchanged package keeps its content hash and is
    not uploaded again."""
    path = build_dir / f"{function}.zip"
    if not path.is_file():
        raise DeployError(f"no package for {function!r}: {path} is missing; run `make package`")
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            has_handler = "index.py" in archive.namelist()
    except zipfile.BadZipFile:
        has_handler = False
    if not has_handler:
        raise DeployError(
            f"{path} is not a function package (a zip with index.py at its "
            f"top); run `make package` again"
        )
    return Package(function, data, stack)


def functions_of(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> package name, from each function's `Code.OssObjectName` (`db.zip` -> db)."""
    found = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") == FUNCTION_TYPE:
            name = str(resource["Properties"]["Code"]["OssObjectName"])
            found[logical_id] = name[:-4] if name.endswith(".zip") else name
    return found


def with_code(template: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(dict(template))
    for logical_id, key in keys.items():
        result["Resources"][logical_id]["Properties"]["Code"]["OssObjectName"] = key
    return result
