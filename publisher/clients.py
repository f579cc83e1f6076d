"""AWS edge shared by publish.py and operate: the S3 client and the configured region."""

from __future__ import annotations

from typing import Any

from publisher.errors import UsageError


def boto3_client(profile: str | None, region: str, endpoint_url: str | None) -> Any:
    """S3 client found the usual boto3 way (profile, environment, instance role)."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile, region_name=region)
    # Virtual-hosted addressing matches the URLs written into the master; a custom endpoint
    # (a local S3 stand-in) is addressed by path, as it has no per-bucket host names.
    addressing = "path" if endpoint_url else "virtual"
    config = Config(s3={"addressing_style": addressing}, retries={"mode": "standard"})
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def configured_region(profile: str | None) -> str | None:
    """Region from the profile or environment, read from local configuration only."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile).region_name
    except ProfileNotFound:
        raise UsageError(f"AWS profile {profile!r} not found in the AWS config files") from None
