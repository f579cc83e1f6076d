"""AWS edge: boto3 clients, region and partition, credential check, API errors as one line each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from core.naming import validate_stack_name
from operate.errors import (
    AccessDenied,
    AwsError,
    CredentialsError,
    PartitionError,
    StackNotFound,
    UsageError,
)
from publisher.errors import PublishError
from publisher.naming import partition_of as _publisher_partition_of

# (service, region) -> boto3 client
ClientFactory = Callable[[str, str], Any]

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "UnauthorizedAccess",
}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
}


def boto3_factory(profile: str | None, endpoint_url: str | None) -> ClientFactory:
    """Clients found the usual boto3 way; one session, so a profile is read once."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound:
        raise UsageError(f"AWS profile {profile!r} not found in the AWS config files") from None
    config = Config(retries={"mode": "standard", "max_attempts": 8})

    def make(service: str, region: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

    return make


def checked_stack_name(name: str) -> str:
    """The stack name, or a UsageError with CloudFormation's rule (core.naming has it)."""
    try:
        return validate_stack_name(name)
    except ValueError as error:
        raise UsageError(str(error)) from None


def partition_of(region: str) -> str:
    """`aws` or `aws-cn`; other partitions and malformed names are a UsageError."""
    try:
        return _publisher_partition_of(region)
    except PublishError as error:
        raise UsageError(str(error)) from None


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(error)


@contextmanager
def api_errors(action: str) -> Iterator[None]:
    """Turn a botocore failure during `action` into the one-line error the user sees."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from botocore.parsers import ResponseParserError

    try:
        yield
    except NoCredentialsError:
        raise CredentialsError(
            "no AWS credentials found: set AWS_PROFILE (or PROFILE=...), or the AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY variables"
        ) from None
    except ClientError as error:
        code = error_code(error)
        if code in _DENIED:
            raise AccessDenied(f"access denied to {action}: {error_message(error)}") from None
        if code in _BAD_CREDENTIALS:
            raise CredentialsError(f"credentials rejected ({code}) on {action}") from None
        raise AwsError(f"{action} failed ({code}): {error_message(error)}") from None
    except (BotoCoreError, ResponseParserError) as error:
        # ResponseParserError is no BotoCoreError: an answer botocore cannot read (a proxy's
        # HTML page, a truncated body) would otherwise end in a traceback.
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise AwsError(f"{action} failed: {first_line}") from None


def check_caller(sts: Any, region: str) -> str:
    """ARN of the caller; refuses credentials of the other partition with one line."""
    partition = partition_of(region)
    try:
        with api_errors("sts:GetCallerIdentity"):
            arn = sts.get_caller_identity()["Arn"]
    except CredentialsError as error:
        if "rejected" in str(error):
            # China and global accounts are separate: keys of one are unknown to the other.
            raise PartitionError(
                f"{error}: are these credentials for partition {partition} (region {region})?"
            ) from None
        raise
    caller_partition = arn.split(":")[1] if arn.startswith("arn:") else ""
    if caller_partition and caller_partition != partition:
        raise PartitionError(
            f"the credentials belong to partition {caller_partition}, "
            f"region {region} to {partition}"
        )
    return arn


def describe_stack(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack's description, or None when no stack of that name (or id) exists."""
    from botocore.exceptions import ClientError

    with api_errors(f"cloudformation:DescribeStacks {name}"):
        try:
            return cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if error_code(error) == "ValidationError" and "does not exist" in str(error):
                return None
            raise


def existing_stack(clients: Callable[[str], Any], region: str, name: str) -> tuple[Any, dict]:
    """The CloudFormation client and stack `name`, once the caller is known; a stack that does
    not exist (or is deleted) is one line, before anything is asked of it."""
    check_caller(clients("sts"), region)
    cfn = clients("cloudformation")
    stack = describe_stack(cfn, name)
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        raise StackNotFound(f"stack {name} does not exist in {region}")
    return cfn, stack


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}


def newest_event_id(cfn: Any, stack_id: str) -> str | None:
    """Id of the stack's latest event: the boundary after which an operation's events begin."""
    with api_errors(f"cloudformation:DescribeStackEvents {stack_id}"):
        events = cfn.describe_stack_events(StackName=stack_id).get("StackEvents") or []
    return events[0]["EventId"] if events else None
