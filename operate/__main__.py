"""python -m operate deploy|watch|delete|smoke|preflight: arguments, clients, view, exit code.

Exit codes: 0 done, 1 failed or rolled back, 2 refused with nothing changed, 130 interrupted.
An error is one line; with --json the output always ends with one `result` record.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from operate import delete, deploy, preflight, smoke, watch
from operate.aws import ClientFactory, boto3_factory, partition_of
from operate.context import Context
from operate.errors import OperateError, UsageError
from operate.report import make_command
from operate.result import FAILED, INTERRUPTED, REFUSED, RunRecord
from operate.view import PlainView, choose
from publisher.clients import configured_region
from publisher.errors import PublishError

COMMANDS = {
    "deploy": deploy,
    "watch": watch,
    "delete": delete,
    "smoke": smoke,
    "preflight": preflight,
}
HELP = {
    "deploy": "publish (with --bucket), check quotas, create the stack or update it through a "
    "change set, follow it live",
    "watch": "follow the stack's latest operation to its end (e.g. after Ctrl-C) and report it",
    "delete": "delete the stack, follow it, report what could not be deleted and why",
    "smoke": "check a deployed stack: ALB, web servers' internet, target health, appliance flows",
    "preflight": "count what the set needs (Elastic IPs, VPCs, NAT gateways, vCPUs, ...) against "
    "the account's quotas and usage",
}
EPILOG = "exit codes: 0 done, 1 failed or rolled back, 2 refused (nothing changed), 130 interrupted"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m operate",
        description="Deploy, watch, smoke-test and delete a GWLB stack.",
        epilog=EPILOG,
    )
    sub = top.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=HELP[name], description=HELP[name], epilog=EPILOG)
        if name == "preflight":  # counts a set, for no stack in particular
            command.add_argument("--stack", default="", help="stack name (unused)")
        else:
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
    return top


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: ClientFactory | None = None,
    out: IO[str] | None = None,
    **injected: Any,
) -> int:
    """Run one command; `clients`, `out` and the Context fields in `injected` are for tests."""
    args = parser().parse_args(argv)
    view = choose(args.json, out)
    record = RunRecord(args.command, args.stack)
    clock = injected.get("clock", time.monotonic)
    started = clock()
    ctx: Context | None = None
    try:
        ctx = _context(args, view, record, clients, injected)
        record.exit_code = COMMANDS[args.command].run(args, ctx)
    except OperateError as error:
        _fail(record, str(error), FAILED if record.changing else REFUSED)
    except KeyboardInterrupt:
        _interrupted(args, record, ctx.region if ctx else args.region or "<region>")
    except Exception as error:  # noqa: BLE001 - any botocore failure is one line, not a traceback
        if not _is_aws_error(error):
            raise
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        _fail(
            record,
            view,
            f"AWS request failed: {first_line}",
            FAILED if record.changing else REFUSED,
        )
    if not record.seconds:
        record.seconds = clock() - started
    view.result(record.as_result())
    return record.exit_code


def _context(
    args: argparse.Namespace,
    view: PlainView,
    record: RunRecord,
    clients: ClientFactory | None,
    injected: dict[str, Any],
) -> Context:
    COMMANDS[args.command].validate(args)  # every check that needs no request comes first
    try:
        region = args.region or configured_region(args.profile)
    except PublishError as error:  # a profile that is not configured
        raise UsageError(str(error)) from None
    if not region:
        raise UsageError("no region: pass REGION=... (or configure one for the profile)")
    return Context(
        clients=clients or boto3_factory(args.profile, args.endpoint_url),
        region=region,
        partition=partition_of(region),
        view=view,
        profile=args.profile,
        endpoint_url=args.endpoint_url,
        record=record,
        **injected,
    )


def _fail(record: RunRecord, message: str, code: int) -> None:
    record.error, record.exit_code = message, code
    record.status = record.status or ("REFUSED" if code == REFUSED else "ERROR")
    print(f"error: {message}", file=sys.stderr)


def _interrupted(args: argparse.Namespace, record: RunRecord, region: str) -> None:
    """Ctrl-C stops only the watching: say which stack goes on and how to get back to it."""
    record.exit_code, record.error, record.status = INTERRUPTED, "interrupted", "INTERRUPTED"
    if not record.changing:
        print(f"error: interrupted before stack {args.stack} was changed", file=sys.stderr)
        return
    lines = [
        f"error: interrupted; stack {args.stack} goes on in CloudFormation without this watch",
        f"  follow it again: {make_command('watch', args.stack, region)}",
        f"  delete it:       {make_command('delete', args.stack, region)}",
    ]
    print("\n".join(lines), file=sys.stderr)


def _is_aws_error(error: Exception) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return isinstance(error, BotoCoreError | ClientError | ResponseParserError)


if __name__ == "__main__":
    sys.exit(main())
