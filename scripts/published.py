"""A published release as users meet it (`make release`, scripts/release.py): where each region's
objects are and their public URLs, the release template made from template.yml, the check that
every zip is where that template says, and the button that links to it."""

from __future__ import annotations

import copy
import hashlib
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the sibling scripts, by their package path (as mypy reads them)

from scripts.deploykit import (  # noqa: E402 - after sys.path names the repository
    FUNCTION_TYPE,
    DeployError,
)

VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")
README_BUTTON = re.compile(r"(<!-- deploy-button[^>]*-->\n)(.*?)(\n<!-- /deploy-button -->)", re.S)
BADGE = "https://img.shields.io/badge/Alibaba%20Cloud-Deploy%20with%20ROS-ff6a00"


class ReleaseError(DeployError):
    """A release that cannot be published or is not what its template says; nothing more is
    uploaded after one."""


@dataclass(frozen=True)
class Target:
    """Where one region's release goes and how its link is made."""

    region: str
    bucket: str
    oss_endpoint: str
    ros_endpoint: str | None
    console: str | None  # the local console's URL (None: Alibaba Cloud's ROS console)

    def url(self, key: str) -> str:
        """The public URL of `key`: path style for an IP or localhost endpoint (as oss2 and the
        local OSS use it), else the bucket's own host name (OSS's public URL form)."""
        parts = urlsplit(self.oss_endpoint)
        host = parts.hostname or ""
        if host == "localhost" or re.fullmatch(r"[\d.]+|\[[0-9a-fA-F:]+\]", host):
            return f"{self.oss_endpoint.rstrip('/')}/{self.bucket}/{quote(key)}"
        return f"{parts.scheme}://{self.bucket}.{parts.netloc}/{quote(key)}"

    def link(self, template_url: str, stack_name: str) -> str:
        query = urlencode({"templateUrl": template_url, "stackName": stack_name})
        if self.console is not None:
            return f"{self.console}#create-stack?{query}"
        return f"https://ros.console.aliyun.com/{self.region}/stacks/create?{query}"


def release_template(
    template: Mapping[str, Any], keys: Mapping[str, str], bucket: str, version: str
) -> dict[str, Any]:
    """template.yml with each function's code at its release key and CodeBucket defaulting to
    the region's bucket."""
    doc = copy.deepcopy(dict(template))
    for logical_id, key in keys.items():
        doc["Resources"][logical_id]["Properties"]["Code"] = {
            "OssBucketName": {"Ref": "CodeBucket"},
            "OssObjectName": key,
        }
    doc["Parameters"]["CodeBucket"]["Default"] = bucket
    doc["Description"] = f"{doc.get('Description', '')} (release {version})".strip()
    return doc


def published_keys(doc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Logical id -> (bucket, key) of each function's code, as a release template names it."""
    bucket = str(doc["Parameters"]["CodeBucket"]["Default"])
    found = {}
    for logical_id, resource in (doc.get("Resources") or {}).items():
        if resource.get("Type") == FUNCTION_TYPE:
            code = resource["Properties"]["Code"]
            named = code["OssBucketName"]
            found[logical_id] = (
                bucket if named == {"Ref": "CodeBucket"} else str(named),
                str(code["OssObjectName"]),
            )
    return found


def fetch(url: str, limit: int = 512 * 1024 * 1024) -> bytes | None:
    """GET `url` unsigned, as a user's browser or FC would; None when it is not there."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=60) as answer:
            return bytes(answer.read(limit))
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):
            return None
        raise ReleaseError(f"OSS answered {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReleaseError(
            f"cannot reach {url} ({exc}); check OSS_ENDPOINT and your network"
        ) from None


def verify(target: Target, template_url: str) -> dict[str, Any]:
    """The published release as a user meets it: its template from its URL, and every zip the
    template names from its public URL, each matching the SHA-256 in its name."""
    text = fetch(template_url, 524_288 + 1)
    if text is None:
        raise ReleaseError(f"the release template is not at {template_url}")
    doc = yaml.safe_load(text)
    for logical_id, (bucket, key) in published_keys(doc).items():
        url = Target(target.region, bucket, target.oss_endpoint, None, None).url(key)
        data = fetch(url)
        where = f"{logical_id}'s code oss://{bucket}/{key}"
        if data is None:
            raise ReleaseError(
                f"{where} is not where the release template says ({url} does not answer)"
            )
        digest = hashlib.sha256(data).hexdigest()
        if not key.endswith(f"-{digest}.zip"):
            raise ReleaseError(
                f"{where} does not hold the package its name says (SHA-256 {digest})"
            )
    return dict(doc)


def button(links: Mapping[str, str], version: str) -> tuple[str, str]:
    """docs/deploy-button.md's text, and the README's button line (the first region's)."""
    first = next(iter(links.values()))
    line = f"[![Deploy with ROS]({BADGE})]({first})"
    rows = "\n".join(f"| {region} | [create the stack]({link}) |" for region, link in links.items())
    page = (
        f"# Deploy release {version} with one click\n\n"
        f"Written by `make release VERSION={version}`; do not edit.\n\n{line}\n\n"
        f"The button opens the ROS console in {next(iter(links))}, with the release template "
        f"read and its form drawn ([deploy-from-console.md](deploy-from-console.md)). "
        f"Other regions:\n\n| region | link |\n|---|---|\n{rows}\n"
    )
    return page, line


def with_button(readme: str, line: str) -> str:
    """The README with its button block's body replaced (the markers stay)."""
    found = README_BUTTON.search(readme)
    if found is None:
        raise ReleaseError("README.md has no <!-- deploy-button --> block to put the button in")
    return readme[: found.start(2)] + line + readme[found.end(2) :]
