"""How the local ROS applies a stack to the rest of the local cloud: function code from the local
OSS (unzipped once per content hash), tables and logstores created, and the stack's services and
roles served by Function Compute and STS next to those of every other stack.

Names that are unique in an account on the cloud are unique here too: a stack whose service or
RAM role another stack already has fails, as ROS would (`EntityAlreadyExists`).

The local cloud stands for one region whose public endpoints are its own: an output that names
the region's public FC endpoint (`https://{account}.{region}.fc.aliyuncs.com`, e.g. the
template's FcEndpoint and SessionUrl) names the local FC endpoint instead, as the functions'
environment gets the local endpoints. That is the only difference; so a stack's outputs alone
reach its functions, here as in the cloud.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .oss import ObjectStore, OssError
from .ros import Stack
from .ros.retention import retained
from .template import Template, TemplateError, load_template


class Refused(ValueError):
    """A resource the local cloud will not make, named by its type and its place among the
    template's resources of that type (the emulators know names, not logical ids)."""

    def __init__(self, resource_type: str, index: int, message: str) -> None:
        super().__init__(message)
        self.resource_type = resource_type
        self.index = index


class CloudDeployment:
    def __init__(
        self,
        *,
        state_dir: Path,
        store: ObjectStore,
        account_id: str,
        region: str,
        base: Callable[[], Template],
        publish: Callable[[Template], None],
        provision: Callable[[Template], None],
        deprovision: Callable[[Template, list[Template]], None] | None = None,
        fc_endpoint: str | None = None,
    ) -> None:
        self._dir = state_dir
        self._store = store
        self._account_id = account_id
        self._region = region
        self._base = base  # what the cloud serves outside any stack
        self._publish = publish  # serve a merged template (FC services, STS roles)
        self._provision = provision  # create tables and logstores; ValueError if refused
        # delete what a template made that the templates still served do not declare
        self._deprovision = deprovision
        # the region's public FC endpoint -> this cloud's (None: outputs are left as resolved)
        self._endpoints = (
            {f"https://{account_id}.{region}.fc.aliyuncs.com": fc_endpoint.rstrip("/")}
            if fc_endpoint
            else {}
        )
        self._live: dict[str, Template] = {}  # stack name -> template being served
        self._bodies: dict[str, str] = {}  # stack name -> the template text it was made from
        # stack id -> what a deleted stack retained (DeletionPolicy: Retain), kept from deletion
        self._retained: dict[str, Template] = {}
        self._lock = threading.Lock()

    def load(self, stack: Stack) -> Template:
        path = self._dir / "templates" / f"{stack.id}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(stack.template)
        template = load_template(
            path,
            stack.parameters,
            account_id=self._account_id,
            region=self._region,
            stack_name=stack.name,
            code=self._code,
        )
        outputs = {k: self._local(v) for k, v in template.outputs.items()}
        return replace(template, outputs=outputs)

    def _local(self, value: Any) -> Any:
        """An output as this cloud answers it: the region's public FC endpoint is ours."""
        if isinstance(value, str):
            for public, local in self._endpoints.items():
                if value == public or value.startswith(public + "/"):
                    return local + value[len(public) :]
        return value

    def apply(self, stack: Stack, template: Template) -> None:
        """Serve the stack; a TemplateError naming the failing resource when refused."""
        try:
            self._apply(stack, template)
        except Refused as exc:
            ids = [
                str(k)
                for k, v in (yaml.safe_load(stack.template)["Resources"]).items()
                if isinstance(v, dict) and v.get("Type") == exc.resource_type
            ]
            where = f"Resources.{ids[exc.index]}" if exc.index < len(ids) else "Resources"
            raise TemplateError(where, str(exc)) from None

    def _apply(self, stack: Stack, template: Template) -> None:
        with self._lock:
            others = [self._base()] + [t for n, t in self._live.items() if n != stack.name]
            taken = {s.name: s for t in others for s in t.services}
            for index, service in enumerate(template.services):
                if service.name in taken:
                    raise Refused(
                        "ALIYUN::FC::Service",
                        index,
                        f"EntityAlreadyExists.Service: service {service.name!r} "
                        f"already exists in this account and region",
                    )
            roles = {r.name.lower() for t in others for r in t.roles}
            for index, role in enumerate(template.roles):
                if role.name.lower() in roles:
                    raise Refused(
                        "ALIYUN::RAM::Role",
                        index,
                        f"EntityAlreadyExists.Role: RAM role {role.name!r} already exists",
                    )
            secrets = {x.name for t in others for x in t.secrets}
            for index, secret in enumerate(template.secrets):
                if secret.name in secrets:
                    raise Refused(
                        "ALIYUN::KMS::Secret",
                        index,
                        f"Rejected.ResourceExist: secret {secret.name!r} already "
                        f"exists in this account and region",
                    )
            self._provision(template)
            previous = self._live.get(stack.name)
            previous_body = self._bodies.get(stack.name, "")
            self._live[stack.name] = template
            self._bodies[stack.name] = stack.template
            try:
                self._publish(self._merged())
            except ValueError:
                # FC refused the template (a timer's CronExpression): keep serving the old one
                if previous is None:
                    del self._live[stack.name]
                    del self._bodies[stack.name]
                else:
                    self._live[stack.name] = previous
                    self._bodies[stack.name] = previous_body
                raise
            if previous is not None and self._deprovision is not None:
                # An update deletes the resources the new template no longer declares, but not
                # those the old one retained (DeletionPolicy: Retain).
                nodes = _nodes(previous_body)
                kept = _residue(previous, _ids(nodes), retained(nodes, ()))
                self._deprovision(previous, [template, *others, kept])

    def remove(self, stack: Stack, keep: frozenset[str] = frozenset()) -> dict[str, str]:
        """Stop serving the stack and delete what it made, except the resources `keep` names
        (logical ids of the types retention.RETAINABLE); their physical names are returned. A
        TemplateError naming a resource that cannot be deleted leaves everything as it was: an
        instance still holding a retained table (Tablestore deletes only an empty instance)."""
        with self._lock:
            template = self._live.get(stack.name)
            if template is None:
                return {}
            body = self._bodies.get(stack.name, stack.template)
            ids = _ids(_nodes(body))
            kept = _residue(template, ids, keep)
            instances = ids.get("ALIYUN::OTS::Instance", [])
            for logical_id, name in zip(instances, template.ots_instances, strict=True):
                held = [t.name for t in kept.tables if t.instance == name]
                if held and logical_id not in keep:
                    raise TemplateError(
                        f"Resources.{logical_id}",
                        f"instance {name!r} still holds the retained table "
                        f"{', '.join(held)} (DeletionPolicy: Retain), and Tablestore deletes "
                        f"only an instance without tables; retain the instance too",
                    )
            del self._live[stack.name]
            del self._bodies[stack.name]
            if keep:
                self._retained[stack.id] = kept
            self._publish(self._merged())
            if self._deprovision is not None:
                self._deprovision(
                    template, [self._base(), *self._live.values(), *self._retained.values()]
                )
            return _physical(kept, ids, keep)

    def keep(self, stack: Stack, physical: dict[str, str]) -> None:
        """After a restart: serve again the Tablestore instances a deleted stack retained (their
        tables and rows, like retained logstores, are on disk already)."""
        types = {k: v.get("Type") for k, v in _nodes(stack.template).items()}
        names = tuple(n for k, n in physical.items() if types.get(k) == "ALIYUN::OTS::Instance")
        with self._lock:
            residue = Template((), (), (), (), {}, ots_instances=names)
            self._provision(residue)
            self._retained[stack.id] = residue

    def stack_of(self, service: str) -> str | None:
        """The name of the stack serving FC service `service` (None: the cloud's own)."""
        with self._lock:
            return next(
                (
                    name
                    for name, template in self._live.items()
                    if any(s.name == service for s in template.services)
                ),
                None,
            )

    def _merged(self) -> Template:
        base = self._base()
        services = base.services + tuple(s for t in self._live.values() for s in t.services)
        roles = base.roles + tuple(r for t in self._live.values() for r in t.roles)
        secrets = base.secrets + tuple(x for t in self._live.values() for x in t.secrets)
        return replace(base, services=services, roles=roles, secrets=secrets)

    def _code(self, bucket: str, key: str, path: str) -> Path:
        """The unpacked package of `oss://bucket/key`, or a TemplateError naming the object."""
        try:
            _, data = self._store.get(bucket, key)
        except OssError as exc:
            raise TemplateError(
                path, f"cannot read code object oss://{bucket}/{key}: {exc.code}"
            ) from None
        folder = self._dir / "code" / hashlib.sha256(data).hexdigest()
        if folder.is_dir():
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent))
        try:
            archive = staging / "package.zip"
            archive.write_bytes(data)
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging / "code")  # extractall drops '..' and absolute paths
            # Nothing is added: `make package` ships the runtime's bytecode in the zip, and what
            # runs here is what FC would unpack, byte for byte.
            (staging / "code").rename(folder)
        except (zipfile.BadZipFile, OSError) as exc:
            raise TemplateError(
                path, f"code object oss://{bucket}/{key} is not a zip file FC can unpack: {exc}"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder


def declare_buckets(template: Template, store: ObjectStore) -> None:
    """Create the template's OSS buckets (where missing) and set their lifecycle rules. A bucket
    outlives its stack here: the local ROS does not delete a bucket, whose objects are users'
    files (ROS itself refuses to delete a bucket that holds objects unless DeletionForce)."""
    from .oss import Rule

    for bucket in template.buckets:
        store.create_bucket(bucket.name)
        store.set_lifecycle(
            bucket.name, [Rule(r.rule_id, r.prefix, r.days) for r in bucket.expiration]
        )


def provision(
    template: Template, tablestore: Any, sls: Any, instance: str, store: ObjectStore | None = None
) -> None:
    """Create the template's Tablestore instances, tables, logstores and OSS buckets. A table
    lives in the cloud's own `instance` or in one the template declares (ALIYUN::OTS::Instance);
    its rows are apart from every other instance's, so stacks with different DBInstanceNames
    share nothing."""
    from .tablestore import TableSpec

    for index, name in enumerate(template.ots_instances):
        try:
            tablestore.add_instance(name)
        except ValueError as exc:
            raise Refused("ALIYUN::OTS::Instance", index, str(exc)) from None
    known = {instance, *tablestore.instances()}
    for index, table in enumerate(template.tables):
        if table.instance not in known:
            raise Refused(
                "ALIYUN::OTS::Table",
                index,
                f"OTSObjectNotExist: Tablestore instance {table.instance!r} does not "
                f"exist; declare it (ALIYUN::OTS::Instance) or use {instance!r}",
            )
    for table in template.tables:
        tablestore.ensure_table(
            TableSpec(table.name, table.primary_key, table.ttl_seconds, table.max_versions),
            table.instance,
        )
    for logstore in template.logstores:
        sls.ensure_logstore(logstore.project, logstore.name, logstore.ttl_days, logstore.index)
    if store is not None:
        try:
            declare_buckets(template, store)
        except OssError as exc:
            raise Refused("ALIYUN::OSS::Bucket", 0, f"{exc.code}: {exc.message}") from None


def deprovision(template: Template, kept: list[Template], tablestore: Any, sls: Any) -> None:
    """Delete the tables, Tablestore instances and logstores `template` declares that no
    template in `kept` declares, with their rows and logs, as ROS deletes a stack's resources."""
    tables = {(t.instance, t.name) for k in kept for t in k.tables}
    instances = {i for k in kept for i in k.ots_instances} | {
        t.instance for k in kept for t in k.tables
    }
    logstores = {(s.project, s.name) for k in kept for s in k.logstores}
    for table in template.tables:
        if (table.instance, table.name) not in tables:
            tablestore.drop_table(table.name, table.instance)
    for name in template.ots_instances:
        if name not in instances:
            tablestore.remove_instance(name)
    for logstore in template.logstores:
        if (logstore.project, logstore.name) not in logstores:
            sls.delete_logstore(logstore.project, logstore.name)


def _nodes(body: str) -> dict[str, Any]:
    """A template text's resources (it was checked when the stack was made)."""
    if not body:
        return {}
    resources = yaml.safe_load(body).get("Resources") or {}
    return {str(k): v for k, v in resources.items() if isinstance(v, dict)}


def _ids(nodes: Mapping[str, Any]) -> dict[str, list[str]]:
    """Resource type -> its logical ids in template order (of a template text's `_nodes`): the
    order in which the resolved Template lists what they declare (tables, instances, logstores
    ...)."""
    found: dict[str, list[str]] = {}
    for logical_id, node in nodes.items():
        found.setdefault(str(node.get("Type")), []).append(logical_id)
    return found


def _residue(template: Template, ids: Mapping[str, list[str]], keep: frozenset[str]) -> Template:
    """What of `template` (whose text's `_ids` are `ids`) the resources `keep` hold: their
    instances, tables, logstores (with their index; a retained project keeps its logstores) and
    buckets."""

    def kept(rtype: str, items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(i for lid, i in zip(ids.get(rtype, []), items, strict=True) if lid in keep)

    projects = set(kept("ALIYUN::SLS::Project", template.log_projects))
    logstores = tuple(
        s
        for lid, s in zip(ids.get("ALIYUN::SLS::Logstore", []), template.logstores, strict=True)
        if lid in keep or s.project in projects
    )
    return Template(
        (),
        kept("ALIYUN::OTS::Table", template.tables),
        logstores,
        (),
        {},
        ots_instances=kept("ALIYUN::OTS::Instance", template.ots_instances),
        log_projects=tuple(projects),
        buckets=kept("ALIYUN::OSS::Bucket", template.buckets),
    )


def _physical(kept: Template, ids: Mapping[str, list[str]], keep: frozenset[str]) -> dict[str, str]:
    """Each retained resource's physical name, as ROS reports it (the instance, table, project,
    logstore or bucket name)."""
    names: dict[str, str] = {}
    for rtype, items in (
        ("ALIYUN::OTS::Instance", kept.ots_instances),
        ("ALIYUN::OTS::Table", tuple(t.name for t in kept.tables)),
        ("ALIYUN::OSS::Bucket", tuple(b.name for b in kept.buckets)),
    ):
        mine = [lid for lid in ids.get(rtype, []) if lid in keep]
        names.update(zip(mine, items, strict=True))
    return {lid: names.get(lid, "") for lid in keep}
