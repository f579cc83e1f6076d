"""Operate test fixtures: a moto server on 127.0.0.1, an offline AWS environment, a small set."""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from operate.__main__ import main
from tests.aws_offline import moto_url, offline_aws  # noqa: F401 - fixtures for this folder
from tests.operate.quotas_replay import RecordedServiceQuotas
from tests.operate.sets import write_set


@pytest.fixture
def admin(moto_url: str) -> Callable[[str, str], Any]:
    """Clients for arranging and checking moto's state, apart from the code under test."""

    def make(service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture
def bucket_in(admin: Callable[[str, str], Any]) -> Callable[[str], str]:
    def make(region: str) -> str:
        name = f"op-{uuid.uuid4().hex[:12]}"
        arguments: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        admin("s3", region).create_bucket(**arguments)
        return name

    return make


@pytest.fixture
def key_pair(admin: Callable[[str, str], Any]) -> Callable[[str, str], str]:
    """Create a key pair of the given type in a region; returns its name."""

    def make(region: str, key_type: str = "rsa") -> str:
        name = f"key-{uuid.uuid4().hex[:8]}"
        admin("ec2", region).create_key_pair(KeyName=name, KeyType=key_type)
        return name

    return make


@pytest.fixture
def small_output(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    for partition in ("aws", "aws-cn"):
        write_set(root, partition)
    return root


def moto_clients(moto_url: str, quotas: str) -> Callable[[str, str], Any]:
    """Clients of moto, with Service Quotas answered from the recording `quotas`."""

    def make(service: str, region: str) -> Any:
        # A new session each time: the default one would keep credentials a test removed.
        client = boto3.Session().client(service, region_name=region, endpoint_url=moto_url)
        if service == "service-quotas":
            return RecordedServiceQuotas(quotas, client)
        return client

    return make


@pytest.fixture
def operate(moto_url: str) -> Callable[..., tuple[int, str, str]]:
    """Run `python -m operate` in-process against moto; returns (code, stdout, stderr)."""

    def call(*argv: str, **injected: Any) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        old_err = sys.stderr
        sys.stderr = err
        try:
            injected.setdefault("sleep", lambda seconds: None)
            injected.setdefault("clients", moto_clients(moto_url, "raised"))
            code = main([*argv, "--endpoint-url", moto_url], out=out, **injected)
        finally:
            sys.stderr = old_err
        return code, out.getvalue(), err.getvalue()

    return call
