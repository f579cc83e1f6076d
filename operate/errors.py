"""Errors that stop a command before it changes anything; each is one line and exit status 2."""


class OperateError(Exception):
    """str(error) is the one line shown after `error: `."""


class UsageError(OperateError):
    """A missing or malformed input (stack name, key pair, CIDR, region, template URL)."""


class CredentialsError(OperateError):
    """No AWS credentials, or credentials the partition's endpoints reject."""


class PartitionError(OperateError):
    """Region, bucket, template or credentials belong to different partitions."""


class StackNotFound(OperateError):
    """The named stack does not exist (or is already deleted)."""


class AccessDenied(OperateError):
    """An API refused a read the command needs before it starts."""


class AwsError(OperateError):
    """Any other API failure before a change is made."""
