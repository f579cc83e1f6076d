#!/usr/bin/env python3
"""Command line edge of the publisher: arguments, boto3 clients, printing, exit code 2 on errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from publisher.clients import boto3_client, configured_region
from publisher.errors import PublishError
from publisher.plan import describe, launch_lines
from publisher.run import ClientFactory, Request, publish
from publisher.templates import ARCHITECTURES

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"


def parser() -> argparse.ArgumentParser:
    command_line = argparse.ArgumentParser(
        prog="publish.py",
        description="Upload a generated template set to S3 (private objects), rewrite the "
        "master's nested TemplateURLs, and print how to launch it.",
    )
    command_line.add_argument(
        "--bucket", required=True, help="target bucket; its region picks the partition"
    )
    command_line.add_argument("--prefix", help="key prefix inside the bucket, e.g. quickstart/v1")
    command_line.add_argument("--architecture", choices=ARCHITECTURES, default="single-vpc")
    command_line.add_argument(
        "--region",
        help="region for the first request and for --create-bucket; required by --dry-run "
        "(default: the profile's or environment's region)",
    )
    command_line.add_argument("--profile", help="AWS named profile")
    command_line.add_argument(
        "--endpoint-url", help="S3 endpoint to use instead of AWS's (tests, stand-ins)"
    )
    command_line.add_argument(
        "--stack-name", help="stack name in the launch link (default gwlb-<architecture>)"
    )
    command_line.add_argument(
        "--create-bucket", action="store_true", help="create the bucket if missing"
    )
    command_line.add_argument(
        "--dry-run", action="store_true", help="print the plan; make no request"
    )
    command_line.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="generated templates directory (default: output/ beside publish.py)",
    )
    return command_line


def main(argv: Sequence[str] | None = None, client_factory: ClientFactory | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        region = args.region or configured_region(args.profile)
        request = Request(
            bucket=args.bucket,
            output_root=args.output,
            prefix=args.prefix,
            architecture=args.architecture,
            region=region,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
            stack_name=args.stack_name,
            create_bucket=args.create_bucket,
            dry_run=args.dry_run,
        )
        result = publish(request, client_factory or boto3_client, progress=print)
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result.dry_run:
        print("Dry run: no request made, nothing uploaded.")
        print(f"The bucket's region is assumed to be {region} (it is not looked up).")
        print("\n".join(describe(result.plan)))
        return 0
    print(f"Done: {len(result.uploaded)} uploaded, {len(result.unchanged)} unchanged.")
    print("\n".join(launch_lines(result.plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
