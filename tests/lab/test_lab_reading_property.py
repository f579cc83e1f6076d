"""Property-based mutations of the committed sets through everything the lab decides before a
namespace exists (reading, refusals, roles, addresses and routes, security group and ACL rules):
the outcome is a plan, a refusal or one SetError line, never a traceback. No root needed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings

from lab import acl, addresses, security
from lab.filters import Filters
from lab.reading import read_templates
from verify.errors import SetError

_SPEC = importlib.util.spec_from_file_location(
    "verify_mutations",
    Path(__file__).resolve().parents[1] / "verify" / "test_verify_mutations.py",
)
_MUTATIONS = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MUTATIONS)  # the mutation strategy over the committed sets, shared


def plan_offline(templates: dict[str, dict]) -> str:
    try:
        reading = read_templates(templates)
    except SetError as exc:
        assert "\n" not in str(exc) and str(exc)
        return "error"
    if reading.refusals:
        return "refused"
    model = reading.model
    layout = addresses.plan(model)
    filters = Filters(model, layout, enabled=True)
    for vpc in model.vpcs:
        addresses.policy_routing(model, layout, vpc)
        acl.ruleset(model, layout, vpc)
    for groups in filters.grouped().values():
        security.ruleset([model.security_groups[g] for g in groups], filters.members)
    for host in reading.roles.served:
        filters.verdict(
            host.id, layout.nodes[host.id].ip, host.subnet, None, "198.19.255.20", 6, 443
        )
    return "ok"


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_MUTATIONS.mutated_set())
def test_no_mutation_escapes_the_lab_as_a_traceback(templates):
    outcome = plan_offline(templates)
    event(outcome)
    assert outcome in ("ok", "refused", "error")


def test_the_committed_sets_plan_offline():
    assert {n: plan_offline(t) for n, t in _MUTATIONS.SETS.items()} == dict.fromkeys(
        _MUTATIONS.SETS, "ok"
    )
