"""Route-path verifier: follows packets hop by hop through a rendered set's route tables (longest
prefix match, local routes, GWLB endpoint to appliance and back, NAT, transit gateways) and checks
that every flow crosses the same GWLB endpoint in both directions, whatever choice a transit
gateway makes that is unknown offline. `python -m verify.routepath DIR` prints it. Which flows
must be inspected comes from the set itself (verify/flows.py); packets move in
verify/simulator.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verify import reader, validate
from verify.errors import SetError
from verify.flows import appliance_egress, management_hosts, served_hosts, standard_flows
from verify.model import SetModel
from verify.simulator import (
    INTERNET_HOST,
    MAX_HOPS,
    FlowResult,
    RouteError,
    Simulator,
    Trace,
    host_address,
)

# The names the lab, the docs and the tests reach through this module.
__all__ = [
    "INTERNET_HOST",
    "MAX_HOPS",
    "FlowResult",
    "RouteError",
    "Simulator",
    "Trace",
    "appliance_egress",
    "host_address",
    "main",
    "management_hosts",
    "problems",
    "served_hosts",
    "standard_flows",
    "summary",
    "table",
    "title",
]


def problems(net: SetModel) -> list[str]:
    """Every way the set breaks the rule; empty when all flows are inspected symmetrically.
    A set AWS would refuse (verify.validate) is judged there, not here."""
    found = []
    try:
        flows = standard_flows(net)
    except RouteError as exc:
        return [str(exc)]
    for flow in flows:
        if not flow.inspected_symmetrically:
            fwd = [net.label(e) for e in flow.forward.endpoints] or ["none"]
            back = [net.label(e) for e in flow.back.endpoints] or ["none"]
            found.append(f"{title(flow)}: endpoint out {fwd}, back {back}")
    try:
        for flow in appliance_egress(net):
            if flow.forward.endpoints or flow.back.endpoints:
                found.append(f"{flow.name}: crosses a GWLB endpoint")
    except RouteError as exc:
        found.append(str(exc))
    return found


def title(flow: FlowResult) -> str:
    """A flow's name, with the TGW choices of this run when it met any."""
    return f"{flow.name} [{flow.variant}]" if flow.variant else flow.name


def summary(flows: list[FlowResult]) -> str:
    """How many flows there are (a flow's runs over the TGW's choices count once), and how many
    cross one endpoint, the same each way, for every choice."""
    names = list(dict.fromkeys(f.name for f in flows))
    broken = {f.name for f in flows if not f.inspected_symmetrically}
    return (
        f"{len(names)} flows ({len(flows)} runs over every TGW choice): "
        f"{len(names) - len(broken)} inspected symmetrically for every choice, "
        f"{len(broken)} not"
    )


def table(flows: list[FlowResult], net: SetModel) -> str:
    lines = [
        "| flow | hops out | hops back | endpoint out | endpoint back |",
        "|---|---|---|---|---|",
    ]
    for flow in flows:
        out = ", ".join(net.label(e) for e in flow.forward.endpoints) or "-"
        back = ", ".join(net.label(e) for e in flow.back.endpoints) or "-"
        lines.append(
            f"| {title(flow)} | {' > '.join(flow.forward.hops)} | {' > '.join(flow.back.hops)} "
            f"| {out} | {back} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verify.routepath",
        description="Trace every standard flow through a rendered template set and check that "
        "each crosses one GWLB endpoint, the same one in both directions.",
    )
    parser.add_argument("directory", type=Path, help="e.g. output/aws/single-vpc")
    parser.add_argument("--master", help="the master's file name, when several could be")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a master parameter's value at launch (default: its Default); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        net = reader.load(args.directory, args.master, reader.parameters(args.parameter))
        refusals = validate.problems(net)
        for refusal in refusals:
            print(f"REFUSED BY AWS: {refusal}", file=sys.stderr)
        if refusals:
            return 1
        flows = standard_flows(net)
        print(table(flows + appliance_egress(net), net))
        if net.transit_gateways:  # the other architectures' output stays as it was
            print(f"\n{summary(flows)}")
    except SetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    issues = problems(net)
    for issue in issues:
        print(f"NOT INSPECTED SYMMETRICALLY: {issue}", file=sys.stderr)
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
