"""Zones: chosen where every instance type is offered, given ones checked, an update's kept, and
AvailabilityZones passed only to a template that declares it."""

from __future__ import annotations

import pytest

from operate.errors import UsageError
from operate.zones import choose
from tests.operate.sets import stack_name, write_set

CIDR = "198.51.100.9/32"
ZONED = """\
  AvailabilityZones:
    Type: String
    Default: ''
"""
METADATA = """\
Metadata:
  GwlbQuickstart:
    Architecture: single-vpc
    Options:
      az_count: 2
"""


def zoned_set(root):
    """The small set, with the AvailabilityZones parameter and the options record."""
    directory = write_set(root, "aws")
    master = directory / "CN-GWLB.yml"
    text = master.read_text().replace("Parameters:\n", f"{METADATA}Parameters:\n{ZONED}", 1)
    master.write_text(text)
    return root


def test_zones_offering_every_type_are_chosen_in_order():
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    offered = {"t3.micro": {"us-east-1b", "us-east-1c"}, "m5.large": set(zones)}
    assert choose(zones, offered, 2) == ["us-east-1b", "us-east-1c"]
    with pytest.raises(UsageError, match=r"only 2 do .*t3\.micro not in us-east-1a"):
        choose(zones, offered, 3)


def parameters_of(admin, region, stack):
    described = admin("cloudformation", region).describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue") for p in described["Parameters"]}


def deploy(operate, stack, region, bucket, output, *extra):
    return operate(
        "deploy", "--stack", stack, "--region", region, "--bucket", bucket,
        "--output", str(output), *extra,
    )  # fmt: skip


def test_a_create_fills_the_zones_and_an_update_keeps_them(
    admin, operate, bucket_in, key_pair, tmp_path
):
    region = "eu-west-1"
    output = zoned_set(tmp_path / "output")
    bucket, stack = bucket_in(region), stack_name()
    code, out, err = deploy(
        operate, stack, region, bucket, output, "--key-pair", key_pair(region),
        "--bastion-cidr", CIDR,
    )  # fmt: skip
    assert (code, err) == (0, "")
    region_zones = sorted(
        z["ZoneName"]
        for z in admin("ec2", region).describe_availability_zones()["AvailabilityZones"]
    )
    assert parameters_of(admin, region, stack)["AvailabilityZones"] == ",".join(region_zones[:2])
    assert f"Availability zones: {region_zones[0]}, {region_zones[1]} (" in out
    code, out, err = deploy(
        operate, stack, region, bucket, output, "--parameter", "VpcCidr=10.8.0.0/16"
    )
    assert (code, err) == (0, "")
    assert "Availability zones: kept as the stack has them" in out
    assert parameters_of(admin, region, stack)["AvailabilityZones"] == ",".join(region_zones[:2])


def test_given_zones_are_used_and_counted(admin, operate, bucket_in, key_pair, tmp_path):
    region = "us-east-2"
    output = zoned_set(tmp_path / "output")
    bucket, stack = bucket_in(region), stack_name()
    given = ["--key-pair", key_pair(region), "--bastion-cidr", CIDR]
    code, out, err = deploy(
        operate, stack, region, bucket, output, *given, "--availability-zones", "us-east-2c"
    )
    assert code == 2 and err == "error: ZONES names 1 zones; the set uses 2\n"
    code, out, err = deploy(
        operate, stack, region, bucket, output, *given,
        "--availability-zones", "us-east-2c,us-east-2a",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert parameters_of(admin, region, stack)["AvailabilityZones"] == "us-east-2c,us-east-2a"


def test_a_template_without_the_parameter_gets_none(
    admin, operate, bucket_in, key_pair, small_output
):
    region = "ca-central-1"
    stack = stack_name()
    code, out, err = deploy(
        operate, stack, region, bucket_in(region), small_output, "--key-pair",
        key_pair(region), "--bastion-cidr", CIDR,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert "AvailabilityZones" not in parameters_of(admin, region, stack)
    assert "Availability zones" not in out


def test_an_update_keeps_the_architecture_its_master_records(
    admin, operate, bucket_in, key_pair, tmp_path
):
    region = "sa-east-1"
    output = zoned_set(tmp_path / "output")
    master = output / "aws" / "single-vpc" / "CN-GWLB.yml"
    # The stack's own master says separated-vpc; its Description says nothing about it.
    master.write_text(
        master.read_text().replace("Architecture: single-vpc", "Architecture: separated-vpc")
    )
    bucket, stack = bucket_in(region), stack_name()
    given = ["--key-pair", key_pair(region), "--bastion-cidr", CIDR]
    assert deploy(operate, stack, region, bucket, output, *given)[0] == 0
    code, out, err = deploy(operate, stack, region, bucket, output, "--architecture", "single-vpc")
    assert (code, out) == (2, "")
    assert err == (
        f"error: stack {stack} is separated-vpc; deploying single-vpc would replace it whole: "
        "leave ARCH unset, or delete the stack first\n"
    )


def test_a_no_op_update_ends_its_json_with_the_result(
    admin, operate, bucket_in, key_pair, tmp_path
):
    import json

    region = "ap-southeast-1"
    output = zoned_set(tmp_path / "output")
    bucket, stack = bucket_in(region), stack_name()
    given = [
        "--key-pair",
        key_pair(region),
        "--bastion-cidr",
        CIDR,
        "--parameter",
        "VpcCidr=10.9.0.0/16",
    ]
    assert deploy(operate, stack, region, bucket, output, *given)[0] == 0
    code, out, err = deploy(operate, stack, region, bucket, output, *given, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["kind"] for r in records].count("result") == 1 and records[-1]["kind"] == "result"
    assert records[-1]["exit_code"] == code == 0 and records[-1]["stack"] == stack
    assert records[-1]["status"] == "CREATE_COMPLETE" and records[-1]["stack_id"].startswith("arn:")
