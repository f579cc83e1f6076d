"""Domain errors of the publisher; publish.main shows each as one line and exits with code 2."""


class PublishError(Exception):
    """Something stops the publication; str(error) is the one line shown to the user."""


class UsageError(PublishError):
    """An argument is invalid (bucket name, prefix, region, stack name)."""


class TemplateSetError(PublishError):
    """The generated template set is missing or inconsistent."""


class PartitionMismatch(PublishError):
    """A template set would go to a bucket of the other partition."""


class CredentialsError(PublishError):
    """No usable AWS credentials were found or they were rejected."""


class NoSuchBucket(PublishError):
    """The bucket does not exist (or is invisible to these credentials)."""


class AccessDenied(PublishError):
    """S3 refused an operation for lack of permission."""


class S3Error(PublishError):
    """Any other S3 failure."""
