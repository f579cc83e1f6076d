"""S3 operations of a publication through an injected client; failures become domain errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from publisher.errors import AccessDenied, CredentialsError, NoSuchBucket, PublishError, S3Error
from publisher.naming import region_from_location
from publisher.plan import Plan, Upload

# Object metadata holding the SHA-256 of the body: unlike the ETag it stays comparable under
# SSE-KMS and multipart uploads, so "unchanged" means the same bytes.
SHA256_METADATA = "sha256"
CONTENT_TYPE = "application/yaml"

_DENIED = {"AccessDenied", "AllAccessDisabled", "Forbidden", "403"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "InvalidClientTokenId",
}


@contextmanager
def s3_errors(bucket: str, action: str) -> Iterator[None]:
    """Translate what boto3 raises during `action` into one-line domain errors."""
    try:
        yield
    except ClientError as error:
        raise _from_client_error(error, bucket, action) from None
    except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError):
        raise CredentialsError(
            "no AWS credentials found: use --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "or an instance role"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as error:
        raise S3Error(
            f"cannot reach S3 while trying to {action}: {error} "
            "(check the network, --region and --endpoint-url)"
        ) from None
    except BotoCoreError as error:
        raise S3Error(f"could not {action}: {error}") from None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _from_client_error(error: ClientError, bucket: str, action: str) -> PublishError:
    info = error.response.get("Error", {})
    code = _code(error)
    if code == "NoSuchBucket":
        return NoSuchBucket(
            f"bucket {bucket} does not exist: create it, or run again with --create-bucket"
        )
    if code in _DENIED:
        return AccessDenied(
            f"access denied to s3://{bucket} while trying to {action}: the credentials need "
            "s3:GetBucketLocation, s3:ListBucket, s3:GetObject and s3:PutObject on it"
        )
    if code in _BAD_CREDENTIALS:
        return CredentialsError(
            f"the AWS credentials were rejected ({code}); a bucket in China needs China "
            "credentials and --region cn-north-1 or cn-northwest-1"
        )
    if code == "BucketAlreadyExists":
        return S3Error(f"bucket name {bucket} is taken by another account: choose another name")
    message = str(info.get("Message", "")).strip() or "no message"
    return S3Error(f"could not {action} (s3://{bucket}): {code}: {message}")


def find_bucket_region(client: Any, bucket: str) -> str:
    """Region the bucket lives in (one GetBucketLocation request)."""
    with s3_errors(bucket, "look up the bucket's region"):
        answer = client.get_bucket_location(Bucket=bucket)
    return region_from_location(answer.get("LocationConstraint"))


def create_bucket(client: Any, bucket: str, region: str) -> bool:
    """Create a private bucket in `region`; False if it already exists and is ours."""
    arguments: dict[str, Any] = {"Bucket": bucket}
    # us-east-1 is the one region that takes no LocationConstraint (and rejects it).
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with s3_errors(bucket, f"create the bucket in {region}"):
        try:
            client.create_bucket(**arguments)
        except ClientError as error:
            if _code(error) == "BucketAlreadyOwnedByYou":
                return False
            raise
    return True


def is_current(client: Any, bucket: str, upload: Upload) -> bool:
    """True if the object already holds exactly this body (by its SHA-256 metadata)."""
    with s3_errors(bucket, f"read {upload.key}"):
        try:
            head = client.head_object(Bucket=bucket, Key=upload.key)
        except ClientError as error:
            if _code(error) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
    return head.get("Metadata", {}).get(SHA256_METADATA) == upload.sha256


def put(client: Any, bucket: str, upload: Upload) -> None:
    """Upload one object; no ACL is set, so it stays private."""
    with s3_errors(bucket, f"upload {upload.key}"):
        client.put_object(
            Bucket=bucket,
            Key=upload.key,
            Body=upload.body,
            ContentType=CONTENT_TYPE,
            Metadata={SHA256_METADATA: upload.sha256},
        )


@dataclass
class Outcome:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def execute(plan: Plan, client: Any, progress: Callable[[str], None]) -> Outcome:
    """Upload what changed, nested templates first and the master last.

    Any failure raises before the master is written, so a new master never points at missing
    objects; nested keys are content-addressed, so an older master stays launchable too.
    """
    outcome = Outcome()
    total = len(plan.uploads)
    for number, upload in enumerate(plan.uploads, start=1):
        if is_current(client, plan.bucket, upload):
            outcome.unchanged.append(upload.key)
            state = "unchanged"
        else:
            put(client, plan.bucket, upload)
            outcome.uploaded.append(upload.key)
            state = "uploaded"
        progress(f"  [{number}/{total}] {state:<9} {upload.source} -> {upload.key}")
    return outcome
