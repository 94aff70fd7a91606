"""`make release VERSION=x.y.z`: publish template.yml for the one-click deploy, so a user needs
nothing installed: the ROS console reads the release template from a public URL, draws its form,
and FC takes each function's code from OSS.

For each region (`--regions`; one bucket per region, `<bucket-prefix>-<region>`, public-read,
created if missing): upload each function's package (build/<fn>.zip, as `make package` built
it) as `<version>/<fn>-<sha256>.zip`, then the release template `<version>/template.yml`: the
project's template with each function's `Code` pointing at its zip and `CodeBucket` defaulting
to the region's bucket. The template goes last, so its URL never answers before its code is
there. Then the release is checked as a user would meet it: every zip the template names is
read back from its public URL and compared by SHA-256 (a zip not where the template says is a
named error), and ROS's ValidateTemplate reads the template from its URL. Last, the console
link of each region is printed and written, with a button, to docs/deploy-button.md and the
README's button line. A published version is never overwritten: its template URL answering
stops the release before anything is uploaded.

Credentials and endpoints are `make deploy`'s (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET or the CLI
profile; OSS_ENDPOINT, ROS_ENDPOINT). `--local` publishes to the running local cloud instead
(its cloud.json: endpoints and root key) and prints a link to the local console's "Create
stack" page; the button file is then written beside the cloud's state, not into docs/.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the sibling scripts, by their package path (as mypy reads them)

from scripts.deploykit import (  # noqa: E402 - after sys.path names the repository
    Credentials,
    DeployError,
    Ros,
    RosRefused,
    credentials_from_chain,
    functions_of,
    oss_bucket,
    package_artifact,
)
from scripts.published import (  # noqa: E402 - after sys.path names the repository
    VERSION,
    ReleaseError,
    Target,
    button,
    fetch,
    release_template,
    verify,
    with_button,
)


def publish(
    target: Target,
    creds: Credentials,
    version: str,
    template: Mapping[str, Any],
    build: Path,
    stack_name: str,
) -> str:
    """Upload one region's release and check it; the console link."""
    import oss2

    from localcloud.template.interface import problems

    template_key = f"{version}/template.yml"
    template_url = target.url(template_key)
    if fetch(template_url, 1) is not None:
        raise ReleaseError(
            f"version {version} is already published in {target.region} ({template_url}); a "
            f"release never overwrites one: choose a new VERSION"
        )
    functions = functions_of(template)
    packages = {name: package_artifact(name, build) for name in sorted(set(functions.values()))}
    keys = {
        name: f"{version}/{name}-{hashlib.sha256(p.data).hexdigest()}.zip"
        for name, p in packages.items()
    }
    doc = release_template(
        template, {lid: keys[name] for lid, name in functions.items()}, target.bucket, version
    )
    missing = problems(doc)
    if missing:
        raise ReleaseError("the release template's form is incomplete: " + "; ".join(missing))
    bucket = oss_bucket(creds, target.oss_endpoint, target.bucket)
    try:
        try:
            bucket.get_bucket_info()
        except oss2.exceptions.NoSuchBucket:
            bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
            print(f"created bucket {target.bucket} (public-read)")
        if bucket.get_bucket_acl().acl not in ("public-read", "public-read-write"):
            bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
            print(f"bucket {target.bucket} made public-read (the console and FC read it unsigned)")
        for name, package in packages.items():
            bucket.put_object(keys[name], package.data)  # a new key: the content's own hash
            print(f"  {name}: {len(package.data) / 1e6:.1f} MB  oss://{target.bucket}/{keys[name]}")
        body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        bucket.put_object(
            template_key, body.encode(), headers={"Content-Type": "text/yaml; charset=utf-8"}
        )
    except oss2.exceptions.RequestError as exc:
        raise ReleaseError(
            f"cannot reach OSS at {target.oss_endpoint} ({exc}); check OSS_ENDPOINT"
        ) from None
    except oss2.exceptions.OssError as exc:
        raise ReleaseError(
            f"OSS refused {exc.code or exc.status} on bucket {target.bucket}: {exc.message}"
        ) from None
    verify(target, template_url)
    validate(target, creds, template_url)
    print(f"  template: {template_url}")
    return target.link(template_url, stack_name)


def validate(target: Target, creds: Credentials, template_url: str) -> None:
    """ROS's ValidateTemplate, reading the template from its URL as the console will."""
    from aliyunsdkros.request.v20190910 import ValidateTemplateRequest

    request = ValidateTemplateRequest.ValidateTemplateRequest()
    request.set_TemplateURL(template_url)
    try:
        Ros(creds, target.region, target.ros_endpoint).call(request)
    except RosRefused as exc:
        raise ReleaseError(
            f"ROS refused the release template at {template_url}: {exc.code}: {exc.ros_message}"
        ) from None


def targets(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[list[Target], Credentials]:
    if args.local:
        from localcloud.running import NoRunningCloud, running_cloud

        try:
            cloud = running_cloud(ROOT / args.state_dir)
        except (NoRunningCloud, OSError, ValueError) as exc:
            raise ReleaseError(f"no running local cloud: {exc}") from None
        region = cloud["region"]
        target = Target(
            region,
            f"{args.bucket_prefix}-{region}",
            cloud["ossEndpoint"],
            cloud["rosEndpoint"],
            cloud["consoleUrl"],
        )
        return [target], Credentials(cloud["accessKeyId"], cloud["accessKeySecret"])
    regions = args.regions or [env.get("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou"]
    if len(regions) > 1 and (env.get("OSS_ENDPOINT") or env.get("ROS_ENDPOINT")):
        raise ReleaseError("OSS_ENDPOINT and ROS_ENDPOINT name one region's; release to one region")
    found = [
        Target(
            region,
            f"{args.bucket_prefix}-{region}",
            env.get("OSS_ENDPOINT") or f"https://oss-{region}.aliyuncs.com",
            env.get("ROS_ENDPOINT"),
            None,
        )
        for region in regions
    ]
    return found, credentials_from_chain(env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="the release's version, x.y.z")
    parser.add_argument(
        "--regions",
        type=lambda text: [r.strip() for r in text.split(",") if r.strip()],
        help="regions to publish to, comma-separated (default: ALIBABA_CLOUD_REGION_ID or "
        "cn-hangzhou)",
    )
    parser.add_argument(
        "--bucket-prefix",
        default=os.environ.get("RELEASE_BUCKET_PREFIX", "miniapp-release"),
        help="each region's bucket is <prefix>-<region>; bucket names are global, so pick "
        "yours (default: RELEASE_BUCKET_PREFIX or miniapp-release)",
    )
    parser.add_argument(
        "--stack-name",
        default="miniapp-todo",
        help="the stack name the link suggests (default: miniapp-todo)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="publish to the running local cloud (default: Alibaba Cloud)",
    )
    parser.add_argument(
        "--state-dir",
        default=".local",
        help="with --local: the cloud's state folder (default: .local)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="publish nothing: check a published version's template and zips",
    )
    parser.add_argument(
        "--template", default=str(ROOT / "template.yml"), help="default: template.yml"
    )
    parser.add_argument("--build-dir", default=str(ROOT / "build"), help="default: build")
    args = parser.parse_args(argv)
    try:
        if not VERSION.fullmatch(args.version):
            raise ReleaseError(f"VERSION {args.version!r} is not x.y.z (semantic versioning)")
        found, creds = targets(args, os.environ)
        template = yaml.safe_load(Path(args.template).read_text(encoding="utf-8"))
        links = {}
        for target in found:
            template_url = target.url(f"{args.version}/template.yml")
            if args.verify:
                verify(target, template_url)
                print(f"{target.region}: release {args.version} verified ({template_url})")
                continue
            print(f"publishing release {args.version} to {target.region} (oss://{target.bucket})")
            links[target.region] = publish(
                target, creds, args.version, template, Path(args.build_dir), args.stack_name
            )
    except DeployError as exc:
        print(f"release failed: {exc}", file=sys.stderr)
        return exc.status
    if args.verify:
        return 0
    page, line = button(links, args.version)
    docs = ROOT / args.state_dir if args.local else ROOT / "docs"
    written = docs / "deploy-button.md"
    written.write_text(page, encoding="utf-8")
    if args.local:
        written.chmod(0o600)  # the local cloud's state folder keeps its files private
    if not args.local:
        readme = ROOT / "README.md"
        readme.write_text(with_button(readme.read_text(encoding="utf-8"), line), encoding="utf-8")
    for region, link in links.items():
        where = "local console" if args.local else "ROS console"
        print(f"{region}: open the {where} to create the stack:\n  {link}")
    shown = written.relative_to(ROOT) if written.is_relative_to(ROOT) else written
    print(f"wrote {shown}" + ("" if args.local else " and README.md's button"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
