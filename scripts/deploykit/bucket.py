"""The OSS bucket that holds the function packages: looked at before anything is created,
created when missing, and filled with the packages under content-hash names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import DeployError, is_credential_code
from .inputs import Credentials
from .packages import Package, stack_prefix

if TYPE_CHECKING:
    import oss2

# The object `make deploy` puts in a bucket it creates (see CodeBucket.create).
MARKER = "make-deploy-bucket.json"


def oss_bucket(creds: Credentials, endpoint: str, name: str) -> oss2.Bucket:
    """An oss2.Bucket signed with `creds` (STS when they carry a token)."""
    import oss2

    auth = (
        oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
        if creds.security_token
        else oss2.Auth(creds.access_key_id, creds.access_key_secret)
    )
    return oss2.Bucket(auth, endpoint, name, connect_timeout=10)


class CodeBucket:
    def __init__(self, creds: Credentials, endpoint: str, name: str) -> None:
        self.name = name
        self._endpoint = endpoint
        self._bucket = oss_bucket(creds, endpoint, name)

    def exists(self) -> bool:
        """Whether the bucket is there and ours to use (GetBucketInfo: read-only; it also
        proves the key is accepted by OSS)."""
        import oss2

        with self._errors():
            try:
                self._bucket.get_bucket_info()
            except oss2.exceptions.NoSuchBucket:
                return False
        return True

    def create(self, stack: str) -> None:
        """Create the bucket, with a marker object that says `make deploy` made it (for
        `stack`), so `make undeploy` deletes it once nothing else is in it. (A marker, not a
        bucket tag: the local OSS serves objects, not bucket tagging.)"""
        with self._errors():
            self._bucket.create_bucket()
            self._bucket.put_object(
                MARKER, json.dumps({"createdBy": "make deploy", "stack": stack}).encode()
            )
        print(f"created bucket {self.name}")

    def remove_stack(self, stack: str) -> None:
        """Delete the packages deploys of `stack` uploaded (its folder, stack_prefix), then the
        bucket itself if `make deploy` made it and nothing else is left in it."""
        import oss2

        prefix = stack_prefix(stack)
        if not self.exists():
            print(f"no bucket {self.name}: no code objects to remove")
            return
        with self._errors():
            keys = [o.key for o in oss2.ObjectIterator(self._bucket, prefix=prefix)]
            for start in range(0, len(keys), 1000):  # DeleteMultipleObjects takes 1,000 a call
                self._bucket.batch_delete_objects(keys[start : start + 1000])
            print(f"removed {len(keys)} code objects (oss://{self.name}/{prefix})")
            first = [o.key for o in self._bucket.list_objects(max_keys=2).object_list]
            if not self._made_by_deploy():
                print(f"kept bucket {self.name}: make deploy did not create it")
            elif [key for key in first if key != MARKER]:
                print(f"kept bucket {self.name}: it holds other objects than this stack's")
            else:
                self._bucket.delete_object(MARKER)
                self._bucket.delete_bucket()
                print(f"deleted bucket {self.name} (make deploy created it, and it is empty)")

    def _made_by_deploy(self) -> bool:
        import oss2

        try:
            return json.loads(self._bucket.get_object(MARKER).read()).get("createdBy") == (
                "make deploy"
            )
        except (oss2.exceptions.NotFound, ValueError):  # no marker, or not ours
            return False

    def upload(self, packages: list[Package]) -> None:
        with self._errors():
            for package in packages:
                if self._holds(package):
                    print(f"  {package.function}: unchanged ({package.key})")
                    continue
                # One PutObject: OSS stores the whole object or nothing, and oss2 checks the
                # CRC-64 OSS reports, so the key never names a partial upload.
                self._bucket.put_object(package.key, package.data)
                print(
                    f"  {package.function}: uploaded {len(package.data) / 1e6:.1f} MB "
                    f"({package.key})"
                )

    def _holds(self, package: Package) -> bool:
        """Whether the bucket already has this package under its key. The ETag (MD5 of a simple
        upload) is compared too: an object someone else put under the name is replaced, never
        run."""
        import oss2

        try:
            etag = self._bucket.head_object(package.key).etag
        except oss2.exceptions.NotFound:
            return False
        return str(etag).upper() == hashlib.md5(package.data).hexdigest().upper()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import oss2

        try:
            yield
        except oss2.exceptions.RequestError as exc:
            raise DeployError(
                f"cannot reach OSS at {self._endpoint} ({exc.details.get('details', exc)}); "
                f"check OSS_ENDPOINT and your network"
            ) from None
        except oss2.exceptions.OssError as exc:
            code = str(exc.code or exc.status)
            fix = (
                "check your AccessKey and its OSS permissions (AliyunOSSFullAccess)"
                if is_credential_code(code)
                else "check the bucket name and your key's OSS permissions"
            )
            raise DeployError(
                f"OSS refused {code} on bucket {self.name}: {exc.message}; {fix}"
            ) from None
