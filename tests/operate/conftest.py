"""Operate test fixtures: a moto server on 127.0.0.1, an offline AWS environment, a small set."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from operate.__main__ import main
from tests.operate.sets import write_set

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server for the session, serving every AWS API over HTTP on 127.0.0.1 only."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto server exited with code {proc.returncode}")
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("moto server did not answer within 30 s")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials, no config files, no instance metadata, no socket off loopback."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path_factory.mktemp("awsconfig") / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise AssertionError(f"test tried to connect to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


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


@pytest.fixture
def operate(moto_url: str) -> Callable[..., tuple[int, str, str]]:
    """Run `python -m operate` in-process against moto; returns (code, stdout, stderr)."""

    def call(*argv: str, **injected: Any) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        old_err = sys.stderr
        sys.stderr = err
        try:
            injected.setdefault("sleep", lambda seconds: None)
            code = main([*argv, "--endpoint-url", moto_url], out=out, **injected)
        finally:
            sys.stderr = old_err
        return code, out.getvalue(), err.getvalue()

    return call
