"""Exit codes and the one `result` record every command ends with, refusals included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DONE = 0
FAILED = 1  # the operation ran and failed, rolled back, or stopped half-way
REFUSED = 2  # refused before any change: nothing was created, updated or deleted
INTERRUPTED = 130  # Ctrl-C: the stack operation itself goes on in CloudFormation
MEANING = {
    DONE: "done",
    FAILED: "failed or rolled back",
    REFUSED: "refused, nothing changed",
    INTERRUPTED: "interrupted",
}
RESULT_KEYS = (
    "command",
    "stack",
    "stack_id",
    "status",
    "exit_code",
    "root_cause",
    "error",
    "seconds",
)


@dataclass
class RunRecord:
    """What one command did, filled in as it goes; `changing` turns a later error into FAILED."""

    command: str
    stack: str
    stack_id: str = ""
    status: str = ""
    exit_code: int = DONE
    root_cause: dict[str, Any] | None = None
    error: str = ""
    seconds: float = 0.0
    changing: bool = False  # a create, update or delete was requested

    def as_result(self) -> dict[str, Any]:
        """The fixed keys of the final JSON record, in a stable order."""
        values = {
            "command": self.command,
            "stack": self.stack,
            "stack_id": self.stack_id or None,
            "status": self.status or None,
            "exit_code": self.exit_code,
            "root_cause": self.root_cause,
            "error": self.error or None,
            "seconds": round(self.seconds, 1),
        }
        return {key: values[key] for key in RESULT_KEYS}
