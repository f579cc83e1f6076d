"""Runs one shell script on instances through SSM Run Command and collects each one's output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from operate.aws import api_errors, error_code

_PENDING = ("Pending", "InProgress", "Delayed")


@dataclass(frozen=True)
class Invocation:
    instance_id: str
    status: str  # Success, Failed, TimedOut, Undeliverable, ... or NoAnswer when we gave up
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == "Success"


def run_script(
    ssm: Any,
    instance_ids: Sequence[str],
    script: str,
    *,
    comment: str,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    timeout_seconds: float = 180,
) -> dict[str, Invocation]:
    """Send `script` (AWS-RunShellScript) to every instance and wait for each result."""
    from botocore.exceptions import ClientError

    if not instance_ids:
        return {}
    with api_errors("ssm:SendCommand"):
        command = ssm.send_command(
            InstanceIds=list(instance_ids),
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": [script]},
            Comment=comment[:100],
            TimeoutSeconds=max(30, int(timeout_seconds)),
        )["Command"]
    results: dict[str, Invocation] = {}
    deadline = clock() + timeout_seconds
    while True:
        for instance in instance_ids:
            if instance in results:
                continue
            with api_errors("ssm:GetCommandInvocation"):
                try:
                    got = ssm.get_command_invocation(
                        CommandId=command["CommandId"], InstanceId=instance
                    )
                except ClientError as error:
                    if error_code(error) == "InvocationDoesNotExist":
                        continue  # not registered yet right after SendCommand
                    raise
            if got.get("Status") in _PENDING:
                continue
            results[instance] = Invocation(
                instance,
                got.get("Status", "Unknown"),
                got.get("StandardOutputContent") or "",
                got.get("StandardErrorContent") or "",
            )
        if len(results) == len(instance_ids):
            return results
        if clock() > deadline:
            for instance in instance_ids:
                results.setdefault(instance, Invocation(instance, "NoAnswer", "", ""))
            return results
        sleep(2)
