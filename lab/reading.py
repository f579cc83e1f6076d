"""The lab's reading stage, before any namespace: the set read once as CloudFormation would
evaluate it, AWS's refusals, what the lab emulates, and each host's role. Bad input raises
SetError (one line); a set AWS would refuse comes back with its refusals and no model; what AWS
accepts and then drops the traffic of comes back with its model, to be run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lab import roles
from lab.support import as_delivered, emulated
from verify import files, reader, validate, validate_transit
from verify.evaluate import Stack, evaluate
from verify.model import SetModel


@dataclass
class Reading:
    model: SetModel | None = None
    roles: roles.Roles | None = None
    refusals: list[str] = field(default_factory=list)  # "<resource>: <AWS code>: <message>"
    # What AWS creates and then drops the traffic of (an unassociated TGW attachment, an AZ
    # without an attachment subnet): the lab builds it, and its packets show the loss.
    accepted_drops: list[str] = field(default_factory=list)
    base64_user_data: list[str] = field(default_factory=list)  # ids of hosts given base64


def read_set(
    directory: Path, master: str | None = None, parameters: dict[str, str] | None = None
) -> Reading:
    """Raises verify.errors.SetError for a set that cannot be read or emulated."""
    return judge(evaluate(files.load(directory, master), parameters or {}))


def read_templates(templates: dict[str, dict]) -> Reading:
    """The same for a set already parsed in memory ({file name: template})."""
    return judge(evaluate(files.from_templates(templates)))


def judge(stacks: list[Stack]) -> Reading:
    model = reader.read(stacks)
    found = validate.problems(model)
    refusals = [str(item) for item in found if item.code != validate_transit.WOULD_DROP]
    if refusals:
        return Reading(refusals=refusals)
    drops = [str(item) for item in found if item.code == validate_transit.WOULD_DROP]
    given = [h.id for h in model.hosts.values() if as_delivered(h.user_data) != h.user_data]
    model = emulated(model)
    return Reading(model, roles.find(model), base64_user_data=given, accepted_drops=drops)
