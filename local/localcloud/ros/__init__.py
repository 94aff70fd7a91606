"""The local Resource Orchestration Service: stacks from templates, applied with the local cloud's
emulators, spoken to by `aliyun-python-sdk-ros`."""

from .core import Deployment, Resource, RosError, Stack, StackBook
from .http import RosEmulator

__all__ = ["RosEmulator", "StackBook", "Deployment", "Stack", "Resource", "RosError"]
