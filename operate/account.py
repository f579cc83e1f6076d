"""Reads of the account deploy makes before a change: the key pair the bastion needs."""

from __future__ import annotations

from typing import Any

from operate.aws import api_errors, error_code
from operate.errors import UsageError


def check_key_pair(ec2: Any, name: str, region: str) -> None:
    """The key pair must exist in the region and be RSA: the bastion's Windows password is
    encrypted to it, and Windows passwords cannot be decrypted with an ED25519 key."""
    from botocore.exceptions import ClientError

    with api_errors("ec2:DescribeKeyPairs"):
        try:
            pairs = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
        except ClientError as error:
            if error_code(error) == "InvalidKeyPair.NotFound":
                raise UsageError(f"key pair {name!r} does not exist in {region}") from None
            raise
    key_type = (pairs[0].get("KeyType") or "rsa") if pairs else "rsa"
    if key_type != "rsa":
        raise UsageError(
            f"key pair {name!r} is {key_type}: the bastion needs an RSA key pair "
            "(Windows passwords cannot be decrypted with ED25519)"
        )
