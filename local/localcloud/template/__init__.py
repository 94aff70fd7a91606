"""The template reader: a ROS `template.yml` into frozen declarations the local cloud builds
itself from.

Supported: `ALIYUN::FC::Service`, `ALIYUN::FC::Function` (python3 runtimes, code from an OSS
object) and `ALIYUN::FC::Trigger` (http and timer), and the ROS resources
`ALIYUN::OTS::Instance`, `ALIYUN::OTS::Table`, `ALIYUN::SLS::Project`,
`ALIYUN::SLS::Logstore`, `ALIYUN::SLS::Index`, `ALIYUN::RAM::Role`, `ALIYUN::RAM::ManagedPolicy`,
`ALIYUN::RAM::AttachPolicyToRole`, `ALIYUN::KMS::Secret`, `ALIYUN::OSS::Bucket`; intrinsics
`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select` in long and `!Tag` form;
String/Number/Boolean/CommaDelimitedList parameters.
Anything else raises `TemplateError` naming the YAML path.
"""

from .loader import load_template
from .model import (
    BucketDecl,
    FunctionDecl,
    HttpTriggerDecl,
    LogstoreDecl,
    RoleDecl,
    SecretDecl,
    ServiceDecl,
    TableDecl,
    Template,
    TemplateError,
    TimerDecl,
)
from .yamlio import declared_parameters

__all__ = [
    "load_template",
    "declared_parameters",
    "Template",
    "TemplateError",
    "ServiceDecl",
    "FunctionDecl",
    "HttpTriggerDecl",
    "TimerDecl",
    "TableDecl",
    "LogstoreDecl",
    "RoleDecl",
    "SecretDecl",
    "BucketDecl",
]
