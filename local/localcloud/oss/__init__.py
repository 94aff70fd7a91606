"""The local Object Storage Service: buckets and objects for deployment packages, spoken to by
`oss2` over path-style URLs with signature V1 (and STS tokens)."""
from .core import ObjectInfo, ObjectStore, OssError, is_valid_bucket_name
from .http import OssEmulator

__all__ = ["OssEmulator", "ObjectStore", "ObjectInfo", "OssError", "is_valid_bucket_name"]
