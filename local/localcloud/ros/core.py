"""Stacks: ROS's life cycle (CREATE/UPDATE/DELETE, each IN_PROGRESS then COMPLETE or FAILED) over
the local cloud's emulators.

A stack is checked in two steps, as ROS does: at the call (template syntax, resource types,
parameter values and constraints -> `StackValidationFailed`, nothing created), then in the
background (every resource resolved, function code fetched from OSS and unpacked, the emulators
updated). A failure in the background marks the failing resource and the stack `*_FAILED` with
the reason and changes nothing that was running: an update that fails leaves the previous
version serving. Stacks are kept in SQLite and re-applied when the local cloud restarts.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml

from ..clock import Clock
from ..rpc import RpcError
from ..state import Database
from ..template import Template, TemplateError
from ..template.changes import changes
from ..template.parameters import MissingParameter, parameter_problems, resolve_parameters
from .retention import RETAINED, policy_problem, retained

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stacks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
    template TEXT NOT NULL, parameters TEXT NOT NULL, outputs TEXT NOT NULL,
    resources TEXT NOT NULL, created REAL NOT NULL, updated REAL
)
"""
_STACK_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
LIVE = (
    "CREATE_IN_PROGRESS",
    "CREATE_COMPLETE",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
)
_BUSY = ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS")
_STABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
WAITING = "INIT_COMPLETE"  # ROS's status of a resource not yet created ("to be created")


class RosError(RpcError):
    """A refusal in ROS's own terms; the RPC shell renders it as `{Code, Message}`."""


def not_found(stack_id: str) -> RosError:
    return RosError(404, "StackNotFound", f"The Stack ({stack_id}) could not be found.")


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    status: str
    reason: str = ""
    physical_id: str = ""


@dataclass(frozen=True)
class Stack:
    id: str
    name: str
    status: str
    reason: str
    template: str
    parameters: Mapping[str, str] = field(repr=False)  # may hold NoEcho values
    outputs: Mapping[str, Any] = field(default_factory=dict)
    resources: tuple[Resource, ...] = ()
    created: float = 0.0
    updated: float | None = None
    no_echo: frozenset[str] = frozenset()


class Deployment(Protocol):
    """What applying a stack needs from the local cloud (`localcloud.stacks.CloudDeployment`)."""

    def load(self, stack: Stack) -> Template:
        """Resolve the template, fetching function code; raises TemplateError."""

    def apply(self, stack: Stack, template: Template) -> None:
        """Make the emulators serve it; raises ValueError when refused."""

    def remove(self, stack: Stack, keep: frozenset[str]) -> Mapping[str, str]:
        """Stop serving it and delete what it made but the resources `keep` names; their
        physical names. Raises TemplateError naming a resource it cannot delete (then nothing
        is deleted)."""

    def keep(self, stack: Stack, physical: dict[str, str]) -> None:
        """After a restart, serve again what a deleted stack retained."""


class StackBook:
    def __init__(
        self, db_path: Path, clock: Clock, deployment: Deployment, *, step_seconds: float = 0.0
    ) -> None:
        self._db = Database(db_path, _SCHEMA)
        self._clock = clock
        self._deployment = deployment
        self._lock = threading.RLock()
        # A pause between resources, so progress can be watched in a demo; 0 in tests.
        self._step = step_seconds
        self._threads: list[threading.Thread] = []

    # -- the API -----------------------------------------------------------------------------
    def validate(self, body: str) -> dict[str, Any]:
        """ValidateTemplate: the template alone (no parameter values), checked as CreateStack
        checks it at the call: the format version, every resource's type, and each parameter's
        declaration and Default against its own constraints (Alibaba's "why template validation
        fails" page lists these among the checks); its parameters as declared (the console draws
        its form from them) and its outputs."""
        doc = _parse(body)
        _resources(doc)
        version = doc.get("ROSTemplateFormatVersion")
        if str(version) != "2015-09-01":
            raise RosError(
                400,
                "InvalidTemplate",
                f"Template format error: ROSTemplateFormatVersion must be 2015-09-01, not "
                f"{version!r}.",
            )
        params = doc.get("Parameters") or {}
        if not isinstance(params, dict):
            raise RosError(
                400, "InvalidTemplate", "Template format error: Parameters is a mapping."
            )
        declaration = next(
            (p for p in parameter_problems(params, {}) if not isinstance(p, MissingParameter)),
            None,
        )
        if declaration is not None:
            raise RosError(400, "StackValidationFailed", str(declaration))
        return {
            "Description": doc.get("Description", ""),
            "Parameters": [_declared(k, v) for k, v in params.items()],
            "Outputs": [
                {"OutputKey": k, "Description": (v or {}).get("Description", "")}
                for k, v in (doc.get("Outputs") or {}).items()
            ],
        }

    def constraints(
        self, body: str, keys: list[str] | None, values: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """GetTemplateParameterConstraints. ROS works out the values a parameter may take from
        the resources it feeds (zones, instance types); no resource served here has such a
        parameter, so each parameter's constraint is what the template declares: its
        AllowedValues (Behavior `Normal`), or none (`NoLimitation`). A value given that breaks a
        declared constraint is listed in IllegalValueByParameterConstraints (hidden if
        NoEcho). Our reading of the API: the docs describe the fields, not this case."""
        doc = _parse(body)
        _resources(doc)
        params = doc.get("Parameters") or {}
        found = []
        for key, spec in params.items():
            if keys is not None and key not in keys:
                continue
            spec = spec if isinstance(spec, dict) else {}
            allowed = [str(v) for v in spec.get("AllowedValues") or []]
            illegal = []
            if key in values:
                try:
                    resolve_parameters({key: spec}, {key: values[key]})
                except TemplateError:
                    illegal.append(
                        "****" if str(spec.get("NoEcho")).lower() == "true" else values[key]
                    )
            found.append(
                {
                    "ParameterKey": key,
                    "Type": spec.get("Type", ""),
                    "AllowedValues": allowed,
                    "Behavior": "Normal" if allowed else "NoLimitation",
                    "BehaviorReason": "",
                    "AssociationParameterNames": [],
                    "IllegalValueByParameterConstraints": illegal,
                    "IllegalValueByRules": [],
                    "NotSupportResources": [],
                    "QueryErrors": [],
                }
            )
        return found

    def create(self, name: str, body: str, parameters: Mapping[str, str]) -> str:
        if not name or len(name) > 255 or set(name) - _STACK_NAME_CHARS or not name[0].isalnum():
            raise RosError(
                400,
                "InvalidParameter",
                f"StackName '{name}' is invalid: letters, "
                f"digits, '_' and '-', starting with a "
                f"letter or digit.",
            )
        no_echo, resources = _check(_parse(body), parameters)
        with self._lock:
            if any(s.name == name and s.status != "DELETE_COMPLETE" for s in self.list()):
                raise RosError(409, "StackExists", f"The Stack ({name}) already exists.")
            stack = Stack(
                str(uuid.uuid4()),
                name,
                "CREATE_IN_PROGRESS",
                "Stack CREATE started",
                body,
                dict(parameters),
                {},
                resources,
                self._clock.now(),
                no_echo=no_echo,
            )
            self._save(stack)
        self._background(self._run, stack, "CREATE", None)
        return stack.id

    def update(
        self, stack_id: str, body: str | None, parameters: Mapping[str, str], use_previous: bool
    ) -> str:
        with self._lock:
            current = self.get(stack_id)
            if current.status in _BUSY or current.status.startswith("DELETE"):
                raise RosError(
                    409,
                    "StackNotStable",
                    f"The Stack ({current.name}) is in {current.status} and cannot be updated.",
                )
            values = {**current.parameters, **parameters} if use_previous else dict(parameters)
            body = body if body is not None else current.template
            doc = _parse(body)
            no_echo, resources = _check(doc, values)
            if (
                current.status in _STABLE
                and body == current.template
                and _resolved(doc, values) == _resolved(doc, current.parameters)
            ):
                # What ROS answers for an update that changes nothing. The code, the 400 and the
                # start of the message are what Alibaba's own tools match on (the ROS CDK CLI and
                # Serverless Devs' ros component: code 'NotSupported', message starting 'Update
                # the completely same stack'); the rest of the message is ours. Parameters are
                # compared after defaults are applied; a stack whose last update failed may be
                # updated again with the same input (our choice: the docs are silent).
                raise RosError(
                    400,
                    "NotSupported",
                    f"Update the completely same stack ({current.name}) is not supported.",
                )
            # A resource the stack already has keeps its status until the update reaches it.
            had = {r.logical_id: r for r in current.resources}
            resources = tuple(
                replace(had[r.logical_id], type=r.type) if r.logical_id in had else r
                for r in resources
            )
            stack = replace(
                current,
                status="UPDATE_IN_PROGRESS",
                reason="Stack UPDATE started",
                template=body,
                parameters=values,
                updated=self._clock.now(),
                resources=resources,
                no_echo=no_echo,
            )
            self._save(stack)
        self._background(self._run, stack, "UPDATE", current)
        return stack.id

    def delete(self, stack_id: str, retain: tuple[str, ...] = (), retain_all: bool = False) -> None:
        """DeleteStack: the stack goes DELETE_IN_PROGRESS, then its resources are deleted in the
        background, last first, but those it retains (retention.py); a resource that cannot be
        deleted fails the stack DELETE_FAILED with its reason, and it may be deleted again."""
        with self._lock:
            current = self.get(stack_id)
            if current.status == "DELETE_COMPLETE":
                return
            if current.status in _BUSY:
                raise RosError(
                    409, "StackNotStable", f"The Stack ({current.name}) is in {current.status}."
                )
            try:
                keep = retained(_parse(current.template)["Resources"], retain, retain_all)
            except ValueError as exc:
                raise RosError(400, "InvalidParameter", str(exc)) from None
            stack = replace(current, status="DELETE_IN_PROGRESS", reason="Stack DELETE started")
            self._save(stack)
        self._background(self._delete, stack, keep)

    def get(self, stack_id: str) -> Stack:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM stacks WHERE id = ?", (stack_id,)).fetchone()
        if row is None:
            raise not_found(stack_id)
        return _stack(row)

    def list(self) -> list[Stack]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT * FROM stacks ORDER BY created").fetchall()
        return [_stack(row) for row in rows]

    def restore(self) -> None:
        """Serve every stack that was serving before a restart (synchronously), and what deleted
        stacks retained."""
        for stack in self.list():
            kept = {r.logical_id: r.physical_id for r in stack.resources if r.reason == RETAINED}
            if stack.status == "DELETE_COMPLETE" and kept:
                self._deployment.keep(stack, kept)
            if stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_FAILED"):
                try:
                    self._deployment.apply(stack, self._deployment.load(stack))
                except (TemplateError, ValueError) as exc:
                    self._save(
                        replace(
                            stack, status="UPDATE_FAILED", reason=f"could not be restored: {exc}"
                        )
                    )

    def wait(self) -> None:
        """Wait for background work (tests and shutdown)."""
        for thread in list(self._threads):
            thread.join()

    # -- background application -----------------------------------------------------------------
    def _background(self, work: Callable[..., None], stack: Stack, *args: Any) -> None:
        thread = threading.Thread(
            target=work,
            args=(stack, *args),
            daemon=True,
            name=f"ros-{work.__name__.strip('_')}-{stack.name}",
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, stack: Stack, action: str, previous: Stack | None) -> None:
        try:
            # The emulators take the whole stack at once, or nothing of it: a failure names its
            # resource and leaves the running version untouched. Only then is progress shown
            # resource by resource, so no resource is reported complete in a stack that fails.
            template = self._deployment.load(stack)
            self._deployment.apply(stack, template)
        except (TemplateError, ValueError) as exc:
            self._fail(stack, action, exc)
            return
        steps, removed = _steps(stack, action, previous)
        done = self._progress(replace(stack, resources=stack.resources + removed), steps, {})
        self._save(
            replace(
                stack,
                status=f"{action}_COMPLETE",
                reason=f"Stack {action} completed successfully",
                outputs=dict(template.outputs),
                resources=tuple(done[r.logical_id] for r in stack.resources),
            )
        )

    def _delete(self, stack: Stack, keep: frozenset[str]) -> None:
        try:
            # As for a create or an update, all or nothing: a resource that cannot be deleted
            # fails the stack before anything is deleted (ROS would have deleted the others
            # first), so the stack still serves and may be deleted again.
            physical = self._deployment.remove(stack, keep)
        except (TemplateError, ValueError) as exc:
            self._fail(stack, "DELETE", exc)
            return
        kept = {k: (RETAINED, physical.get(k, "")) for k in keep}
        # Last created, first deleted: the order ROS deletes in, dependents before what they use.
        steps = [(r, "DELETE") for r in stack.resources[::-1]]
        done = self._progress(stack, steps, kept)
        self._save(
            replace(
                stack,
                status="DELETE_COMPLETE",
                reason="Stack DELETE completed successfully",
                resources=tuple(done.values()),
                updated=self._clock.now(),
            )
        )

    def _progress(
        self,
        stack: Stack,
        steps: Sequence[tuple[Resource, str]],
        kept: Mapping[str, tuple[str, str]],
    ) -> dict[str, Resource]:
        """Each resource of `steps` `{action}_IN_PROGRESS`, then `_COMPLETE`, one after the
        other, saved as it goes so a caller polling ListStackResources sees it (the stack's
        other resources as they are); `kept` holds the reason and physical name of a retained
        resource. Every resource of the stack, by logical id, in its order."""
        current = {r.logical_id: r for r in stack.resources}
        for resource, action in steps:
            current[resource.logical_id] = replace(
                resource, status=f"{action}_IN_PROGRESS", reason=""
            )
            self._save(replace(stack, resources=tuple(current.values())))
            if self._step:
                time.sleep(self._step)
            reason, physical = kept.get(
                resource.logical_id, ("state changed", resource.physical_id)
            )
            current[resource.logical_id] = replace(
                resource, status=f"{action}_COMPLETE", reason=reason, physical_id=physical
            )
            self._save(replace(stack, resources=tuple(current.values())))
        return current

    def _fail(self, stack: Stack, action: str, exc: Exception) -> None:
        path = getattr(exc, "path", "")
        failing = path.split(".")[1] if path.startswith("Resources.") else ""
        message = getattr(exc, "message", str(exc))
        resources = tuple(
            replace(r, status=f"{action}_FAILED", reason=message) if r.logical_id == failing else r
            for r in stack.resources
        )
        where = f"Resource {failing} " if failing else ""
        self._save(
            replace(
                stack,
                status=f"{action}_FAILED",
                resources=resources,
                reason=f"{where}{action.lower()} failed: {message}"
                + (f" ({path})" if path else ""),
            )
        )

    def _save(self, stack: Stack) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO stacks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stack.id,
                    stack.name,
                    stack.status,
                    stack.reason,
                    stack.template,
                    json.dumps({"values": dict(stack.parameters), "noEcho": sorted(stack.no_echo)}),
                    json.dumps(dict(stack.outputs)),
                    json.dumps([r.__dict__ for r in stack.resources]),
                    stack.created,
                    stack.updated,
                ),
            )


def _stack(row: Any) -> Stack:
    params = json.loads(row["parameters"])
    return Stack(
        row["id"],
        row["name"],
        row["status"],
        row["reason"],
        row["template"],
        params["values"],
        json.loads(row["outputs"]),
        tuple(Resource(**r) for r in json.loads(row["resources"])),
        row["created"],
        row["updated"],
        frozenset(params["noEcho"]),
    )


def _parse(body: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise RosError(400, "InvalidTemplate", f"Template format error: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise RosError(
            400, "InvalidTemplate", "Template format error: a template is a mapping with Resources."
        )
    return doc


def _resolved(doc: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """The parameter values a stack runs with (defaults applied); the template was checked."""
    return resolve_parameters(doc.get("Parameters"), parameters).values


def _resources(doc: Mapping[str, Any]) -> tuple[Resource, ...]:
    """Each resource, waiting to be created; StackValidationFailed for a type not served here
    or a DeletionPolicy not honoured here."""
    from ..template.resources import KINDS

    resources = []
    for logical_id, node in doc["Resources"].items():
        rtype = node.get("Type") if isinstance(node, dict) else None
        if rtype not in KINDS:
            raise RosError(
                400,
                "StackValidationFailed",
                f"Unknown resource Type : {rtype} (Resources.{logical_id})",
            )
        resources.append(Resource(str(logical_id), str(rtype), WAITING))
    problem = policy_problem(doc["Resources"])
    if problem is not None:
        raise RosError(400, "StackValidationFailed", problem)
    return tuple(resources)


# A parameter's declaration keys ValidateTemplate echoes as they are (Default as DefaultValue).
_ECHOED = (
    "Label",
    "Description",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "ConstraintDescription",
    "TextArea",
    "AssociationProperty",
    "AssociationPropertyMetadata",
)


def _declared(key: str, spec: Any) -> dict[str, Any]:
    spec = spec if isinstance(spec, dict) else {}
    return {
        "ParameterKey": key,
        "Type": spec.get("Type", ""),
        "NoEcho": str(spec.get("NoEcho", False)).lower(),
        **{name: spec[name] for name in _ECHOED if name in spec},
        **({"DefaultValue": str(spec["Default"])} if "Default" in spec else {}),
    }


def _check(
    doc: Mapping[str, Any], parameters: Mapping[str, str]
) -> tuple[frozenset[str], tuple[Resource, ...]]:
    """What ROS checks before it starts, of a parsed template (`_parse`): every resource type
    is known here, and the parameter values meet their declarations."""
    resources = _resources(doc)
    try:
        resolved = resolve_parameters(doc.get("Parameters"), parameters)
    except TemplateError as exc:
        raise RosError(400, "StackValidationFailed", str(exc)) from None
    return resolved.no_echo, resources


def _steps(
    stack: Stack, action: str, previous: Stack | None
) -> tuple[list[tuple[Resource, str]], tuple[Resource, ...]]:
    """What a create or an update does to each resource, in order, and the resources an update
    removes (shown while they are deleted). An update touches only what changed (changes.py):
    ROS leaves an unchanged resource alone, and it keeps its status. After a failed create or
    update, every resource is made again (our choice: the docs do not say what ROS compares a
    retry with)."""
    if action == "CREATE" or previous is None:
        return [(r, "CREATE") for r in stack.resources], ()
    kept = {r.logical_id for r in stack.resources}
    removed = tuple(r for r in previous.resources if r.logical_id not in kept)
    if previous.status in _STABLE:
        old, new = _parse(previous.template), _parse(stack.template)
        diff = changes(
            old["Resources"],
            _resolved(old, previous.parameters),
            new["Resources"],
            _resolved(new, stack.parameters),
        )
        plan = {**dict.fromkeys(diff.created, "CREATE"), **dict.fromkeys(diff.updated, "UPDATE")}
    else:
        plan = {
            r.logical_id: "CREATE" if r.status == WAITING else "UPDATE" for r in stack.resources
        }
    steps = [(r, plan[r.logical_id]) for r in stack.resources if r.logical_id in plan]
    return steps + [(r, "DELETE") for r in removed[::-1]], removed
