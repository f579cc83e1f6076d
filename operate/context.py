"""What every command gets from outside: clients, region, view, clock, sleep, HTTP fetch, and the
record of what it did."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from operate.aws import ClientFactory
from operate.result import RunRecord
from operate.view import PlainView
from publisher.clients import boto3_client

# (url, timeout seconds) -> response body; raises OSError on failure
Fetch = Callable[[str, float], str]
# (profile, region, endpoint_url) -> S3 client, as publisher.run.publish expects
S3Factory = Callable[[str | None, str, str | None], Any]


def http_get(url: str, timeout: float) -> str:
    """GET over the network (the smoke test's requests to the ALB from this machine)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only
        return response.read(4096).decode("utf-8", "replace")


@dataclass
class Context:
    clients: ClientFactory
    region: str
    partition: str
    view: PlainView
    profile: str | None = None
    endpoint_url: str | None = None
    s3_clients: S3Factory = boto3_client
    fetch: Fetch = http_get
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    cache: dict[str, Any] = field(default_factory=dict)
    record: RunRecord = field(default_factory=lambda: RunRecord("", ""))

    def client(self, service: str) -> Any:
        """One client per service for the command's region."""
        if service not in self.cache:
            self.cache[service] = self.clients(service, self.region)
        return self.cache[service]
