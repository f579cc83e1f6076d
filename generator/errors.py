"""Domain errors of the generator; only the CLI turns them into messages and exit codes."""


class GeneratorError(Exception):
    """Any problem with the options or the topology; its message is one line for the user."""


class OptionsError(GeneratorError):
    """An option the user gave cannot be honoured."""


class CidrError(GeneratorError):
    """A CIDR is malformed, out of range, or collides with another."""
