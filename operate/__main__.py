"""python -m operate deploy|smoke|delete: arguments, clients, view; an error is one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO, Any

from operate import delete, deploy, smoke
from operate.aws import ClientFactory, boto3_factory, configured_region, partition_of
from operate.context import Context
from operate.errors import OperateError, UsageError
from operate.view import choose

COMMANDS = {"deploy": deploy, "smoke": smoke, "delete": delete}
HELP = {
    "deploy": "publish (with --bucket), create the stack or update it through a change set, "
    "follow it live",
    "smoke": "check a deployed stack: ALB, web servers' internet, target health, appliance flows",
    "delete": "delete the stack, follow it, report what could not be deleted and why",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m operate", description="Deploy, smoke-test and delete a GWLB stack."
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=HELP[name], description=HELP[name])
        command.add_argument("--stack", required=True, help="stack name")
        command.add_argument("--region", help="default: the profile's or environment's region")
        command.add_argument("--profile", help="AWS named profile")
        command.add_argument("--endpoint-url", help="AWS endpoint to use instead (tests)")
        command.add_argument("--json", action="store_true", help="JSON lines on stdout")
        command.add_argument("--poll-seconds", type=float, default=5.0, help="event poll period")
        command.add_argument(
            "--timeout-minutes", type=float, default=90.0, help="stop watching after this long"
        )
        module.add_arguments(command)
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: ClientFactory | None = None,
    out: IO[str] | None = None,
    **injected: Any,
) -> int:
    """Run one command; `clients`, `out` and the Context fields in `injected` are for tests."""
    args = parser().parse_args(argv)
    module = COMMANDS[args.command]
    try:
        module.validate(args)  # every check that needs no request comes first
        region = args.region or configured_region(args.profile)
        if not region:
            raise UsageError("no region: pass REGION=... (or configure one for the profile)")
        partition = partition_of(region)
        ctx = Context(
            clients=clients or boto3_factory(args.profile, args.endpoint_url),
            region=region,
            partition=partition,
            view=choose(args.json, out),
            profile=args.profile,
            endpoint_url=args.endpoint_url,
            **injected,
        )
        return module.run(args, ctx)
    except OperateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the stack operation goes on in CloudFormation", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
