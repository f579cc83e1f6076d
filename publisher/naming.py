"""Names and addresses: argument checks, partition of a region, object keys, URLs, console links."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote

from core.partitions import PARTITIONS, partition_of_region
from core.sets import MASTER_FILE as MASTER_NAME
from publisher.errors import UsageError

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Prefix segments are kept to characters that need no escaping anywhere (URL, YAML, shell),
# so the keys printed, uploaded and written into the master are the same string.
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# An S3 object key is at most 1024 bytes; the prefix leaves room for the rest of the key.
MAX_PREFIX_LENGTH = 900
# CloudFormation accepts a TemplateURL of at most 1024 characters.
MAX_TEMPLATE_URL_LENGTH = 1024


def validate_bucket_name(bucket: str) -> str:
    """Return the bucket name, or raise UsageError saying which S3 naming rule it breaks."""
    problem = None
    if not 3 <= len(bucket) <= 63:
        problem = "must be 3 to 63 characters long"
    elif not _BUCKET_CHARS.fullmatch(bucket):
        problem = (
            "may contain only lowercase letters, digits, dots and hyphens, "
            "and must begin and end with a letter or digit"
        )
    elif ".." in bucket:
        problem = "must not contain two adjacent dots"
    elif _is_ip_address(bucket):
        problem = "must not look like an IP address"
    elif bucket.startswith(_BUCKET_RESERVED_PREFIXES):
        problem = "must not start with a prefix S3 reserves (xn--, sthree-, amzn-s3-demo-)"
    elif bucket.endswith(_BUCKET_RESERVED_SUFFIXES):
        problem = "must not end with a suffix S3 reserves (-s3alias, --ol-s3, .mrap, --x-s3, ...)"
    elif "." in bucket:
        # Valid for S3, but https://a.b.s3.REGION... does not match S3's wildcard certificate,
        # so the virtual-hosted URLs written into the master would not verify over TLS.
        problem = "must not contain dots: they break the HTTPS virtual-hosted URLs used to launch"
    if problem:
        raise UsageError(f"invalid bucket name {bucket!r}: a bucket name {problem}")
    return bucket


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def normalize_prefix(prefix: str | None) -> str:
    """Return the prefix without surrounding slashes ('' for none), or raise UsageError."""
    if prefix is None:
        return ""
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    segments = stripped.split("/")
    bad = [s for s in segments if not _PREFIX_SEGMENT.fullmatch(s) or s in (".", "..")]
    if bad or len(stripped) > MAX_PREFIX_LENGTH:
        raise UsageError(
            f"invalid prefix {prefix!r}: use '/'-separated segments of letters, digits, '.', '_' "
            f"and '-' (no empty, '.' or '..' segment), at most {MAX_PREFIX_LENGTH} characters"
        )
    return stripped


def validate_region(region: str) -> str:
    """Return the region name, or raise UsageError if it is not shaped like one (e.g. eu-west-1)."""
    if not _REGION.fullmatch(region):
        raise UsageError(f"invalid region {region!r}: expected a region name such as us-east-1")
    return region


def partition_of(region: str) -> str:
    """Partition whose template set a bucket in `region` receives; other partitions are refused."""
    validate_region(region)
    partition = partition_of_region(region)
    if partition is None:
        raise UsageError(f"region {region} is in a partition this project has no templates for")
    return partition.name


def region_from_location(location_constraint: str | None) -> str:
    """Bucket region from GetBucketLocation: None or '' means us-east-1, 'EU' eu-west-1."""
    if not location_constraint:
        return "us-east-1"
    if location_constraint == "EU":
        return "eu-west-1"
    return validate_region(location_constraint)


def master_key(prefix: str, architecture: str) -> str:
    """Stable key of the master, so the launch link stays the same across publications."""
    return _join(prefix, architecture, MASTER_NAME)


def nested_key(prefix: str, architecture: str, file_name: str, sha256_hex: str) -> str:
    """Content-addressed key of a nested template: a key is never overwritten with other content,
    so a master published earlier keeps pointing at the nested templates it was published with."""
    return _join(prefix, architecture, "nested", sha256_hex[:16], file_name)


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def s3_host(bucket: str, region: str) -> str:
    """Regional virtual-hosted host name of a bucket."""
    return f"{bucket}.s3.{region}.{PARTITIONS[partition_of(region)].domain}"


def object_url(bucket: str, region: str, key: str) -> str:
    """Regional virtual-hosted HTTPS URL of an object; each key segment is percent-encoded."""
    path = "/".join(quote(segment, safe="") for segment in key.split("/"))
    return f"https://{s3_host(bucket, region)}/{path}"


def console_host(region: str) -> str:
    """CloudFormation console host of the region's partition."""
    return PARTITIONS[partition_of(region)].console_host


def launch_url(region: str, template_url: str, stack_name: str) -> str:
    """Console quick-create link: the review page with the template and stack name filled in."""
    query = f"templateURL={quote(template_url, safe='')}&stackName={quote(stack_name, safe='')}"
    return (
        f"https://{console_host(region)}/cloudformation/home?region={region}"
        f"#/stacks/create/review?{query}"
    )
