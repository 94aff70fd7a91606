"""What `make deploy` and `make undeploy` (scripts/deploy.py) are made of: reading the inputs
(inputs), checking them before anything is created (checks), the packages and their bucket
(packages, bucket), ROS (ros), and deleting a stack (undeploy). The names other scripts use are
here too, so that one import line, after the script puts the repository on sys.path, brings
them all."""

from . import checks, inputs, packages
from .bucket import CodeBucket, oss_bucket
from .errors import DeployError, RosRefused
from .inputs import Credentials, credentials_from_chain
from .packages import FUNCTION_TYPE, Package, functions_of, package_artifact, with_code
from .ros import Ros
from .undeploy import undeploy

__all__ = [
    "FUNCTION_TYPE",
    "CodeBucket",
    "Credentials",
    "DeployError",
    "Package",
    "Ros",
    "RosRefused",
    "checks",
    "credentials_from_chain",
    "functions_of",
    "inputs",
    "oss_bucket",
    "package_artifact",
    "packages",
    "undeploy",
    "with_code",
]
