"""`DeletionPolicy: Retain` in the local ROS: which resources a stack's deletion keeps.

ROS documents two policies, `Delete` (the default) and `Retain`: a retained resource leaves the
stack but is not deleted, when the stack is deleted and when an update removes it from the
template (help.aliyun.com, ROS "Remove a resource from a stack"). DeleteStack's
`RetainResources` names more to keep at that call (`RetainAllResources`: all of them).

Locally a resource is "kept" by not deleting what the emulators hold for it, so Retain is
honoured for the resources whose deletion destroys data: Tablestore instances and tables (with
their rows), log projects and logstores (with their logs and index; the local SLS keeps a
project while it holds a logstore, so a retained project keeps its logstores), and OSS buckets
(which the local ROS never deletes anyway). A retained FC service, function, trigger, RAM role,
KMS secret or SLS index would have to go on being served with no stack behind it, or without
its logstore, which the local cloud does not do: Retain on those types is refused when the stack
is created, updated or validated, naming the resource, rather than silently ignored.

A retained resource ends DELETE_COMPLETE, like every other, with the reason RETAINED (our
wording: the docs do not say what ROS reports for it), and keeps its physical name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

POLICIES = ("Delete", "Retain")
RETAINABLE = (
    "ALIYUN::OTS::Instance",
    "ALIYUN::OTS::Table",
    "ALIYUN::SLS::Project",
    "ALIYUN::SLS::Logstore",
    "ALIYUN::OSS::Bucket",
)
RETAINED = "Resource retained (DeletionPolicy: Retain): not deleted"


def policy_problem(resources: Mapping[str, Any]) -> str | None:
    """What is wrong with the template's DeletionPolicy attributes, if anything: a policy ROS
    does not know, or a Retain the local cloud cannot honour (see the module's docstring)."""
    for logical_id, node in resources.items():
        if not isinstance(node, dict) or "DeletionPolicy" not in node:
            continue
        policy, rtype = node["DeletionPolicy"], node.get("Type")
        where = f"(Resources.{logical_id}.DeletionPolicy)"
        if policy not in POLICIES:
            return f"DeletionPolicy {policy!r} is not one of {', '.join(POLICIES)} {where}"
        if policy == "Retain" and rtype not in RETAINABLE:
            return (
                f"DeletionPolicy Retain on {rtype} is not supported locally: the local cloud "
                f"keeps only what holds data ({', '.join(RETAINABLE)}) {where}"
            )
    return None


def retained(
    resources: Mapping[str, Any], named: Iterable[str], everything: bool = False
) -> frozenset[str]:
    """The logical ids a deletion keeps: those whose DeletionPolicy is Retain, and those named
    at the call (RetainResources; RetainAllResources names every one of a type that can be
    kept). ValueError for a name that is not a resource of the stack, or of a type that cannot
    be kept."""
    nodes = {k: v for k, v in resources.items() if isinstance(v, dict)}
    found = {k for k, v in nodes.items() if v.get("DeletionPolicy") == "Retain"}
    if everything:
        named = [k for k, v in nodes.items() if v.get("Type") in RETAINABLE]
    for name in named:
        if name not in nodes:
            raise ValueError(f"RetainResources: {name} is not a resource of the stack.")
        if nodes[name].get("Type") not in RETAINABLE:
            raise ValueError(
                f"RetainResources: {name} ({nodes[name].get('Type')}) cannot be retained "
                f"locally; the local cloud keeps only {', '.join(RETAINABLE)}."
            )
        found.add(name)
    return frozenset(found)
