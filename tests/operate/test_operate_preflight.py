"""Preflight against moto, with Service Quotas' ec2 answers recorded: the table for each
architecture and partition, a refusal when the Elastic IPs fall short, and deploy refusing a
create before anything is uploaded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.operate.conftest import moto_clients
from tests.operate.sets import stack_name

REPO = Path(__file__).resolve().parents[2]
CIDR = "198.51.100.9/32"


def declared(directory: Path, resource_type: str) -> int:
    """Resources of a type in the set's text, counted apart from the code under test: each
    nested template as often as the master names it (one spoke template, many spokes)."""
    master = (directory / "CN-GWLB.yml").read_text()
    total = 0
    for path in directory.glob("*.yml"):
        uses = 1 if path.name == "CN-GWLB.yml" else master.count(f"TemplateURL: {path.name}\n")
        total += uses * path.read_text().count(f"Type: {resource_type}\n")
    return total


def rows(out: str) -> dict[str, list[dict[str, str]]]:
    """Each table's rows by quota code: need, in use, limit, verdict."""
    tables: dict[str, list[dict[str, str]]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("Preflight of "):
            current = line.split()[2]
            tables[current] = []
        elif current and " L-" in line:
            code = line[line.index(" L-") + 1 :].split()
            tables[current].append(
                {"code": code[0], "need": code[1], "in_use": code[2], "limit": code[3],
                 "ok": code[4]}
            )  # fmt: skip
    return tables


def test_the_table_for_each_architecture(admin, operate):
    region = "us-west-1"
    code, out, err = operate("preflight", "--region", region)
    assert (code, err) == (0, "")
    tables = rows(out)
    assert sorted(Path(d).name for d in tables) == [
        "separated-vpc",
        "single-vpc",
        "tgw-centralized",
    ]
    vpcs_in_use = len(admin("ec2", region).describe_vpcs()["Vpcs"])
    for directory, found in tables.items():
        by_code = {row["code"]: row for row in found}
        eips = by_code["L-0263D0A3"]
        assert eips["need"] == str(declared(Path(directory), "AWS::EC2::EIP"))
        assert (eips["in_use"], eips["limit"], eips["ok"]) == ("0", "200", "OK")
        assert by_code["L-F678F1CE"]["need"] == str(declared(Path(directory), "AWS::EC2::VPC"))
        assert by_code["L-F678F1CE"]["in_use"] == str(vpcs_in_use)
        assert by_code["L-29B6F2EB"]["limit"] == "50"  # moto's vpc default, as recorded there
        gateways = declared(Path(directory), "AWS::EC2::TransitGateway")
        assert by_code["L-A2478D36"]["need"] == str(gateways)
        tables_per_gateway = declared(Path(directory), "AWS::EC2::TransitGatewayRouteTable")
        assert by_code["L-43872EB7"]["need"] == str(tables_per_gateway)


def test_preflight_counts_the_transit_gateways_attachments_and_routes(operate):
    code, out, _ = operate(
        "preflight", "--region", "us-west-1", "--architecture", "tgw-centralized"
    )
    assert code == 0
    directory = next(iter(rows(out)))
    # One attachment per VPC: the inspection VPC, the ingress VPC and each spoke's stack, all
    # made from one template.
    master = (Path(directory) / "CN-GWLB.yml").read_text()
    spokes = master.count("TemplateURL: Nested-SpokeVpc.yml")
    assert spokes == 2
    fixed = {
        line.split("  ")[0].strip(): line.split()
        for line in out.splitlines()
        if line.startswith(("Attachments per", "Routes per"))
    }
    assert fixed["Attachments per transit gateway"][-6:] == [
        "-",
        str(spokes + 2),
        "0",
        "5000",
        "OK",
        "(fixed)",
    ]
    # two static routes (spokes and ingress tables to inspection); the spokes' and the ingress
    # VPC's blocks propagated
    assert fixed["Routes per transit gateway (static and propagated)"][-6:] == [
        "-",
        str(2 + spokes + 1),
        "0",
        "10000",
        "OK",
        "(fixed)",
    ]


def test_the_china_partition_reads_its_own_sets(operate):
    code, out, err = operate("preflight", "--region", "cn-northwest-1", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    titles = [r["title"] for r in records if r["kind"] == "quotas"]
    assert len(titles) == 3 and all("/aws-cn/" in title for title in titles)
    assert records[-1]["kind"] == "result" and records[-1]["exit_code"] == code == 0


def test_refused_when_the_elastic_ip_quota_is_short(admin, operate, moto_url):
    region = "eu-north-1"
    admin("ec2", region).allocate_address(Domain="vpc")
    code, out, err = operate(
        "preflight", "--region", region, "--architecture", "separated-vpc",
        clients=moto_clients(moto_url, "defaults"),
    )  # fmt: skip
    assert code == 2
    eips = next(r for r in rows(out)[next(iter(rows(out)))] if r["code"] == "L-0263D0A3")
    assert (eips["need"], eips["in_use"], eips["limit"], eips["ok"]) == ("5", "1", "5", "SHORT")
    lines = err.splitlines()
    assert len(lines) == 1
    assert "Elastic IPs (ec2 L-0263D0A3): the set needs 5, 1 in use of 5" in lines[0]
    assert "request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3 " in lines[0]
    assert "--desired-value 6 --region eu-north-1" in lines[0]


def test_a_create_is_refused_before_any_upload(admin, operate, bucket_in, key_pair, small_output,
                                               moto_url):  # fmt: skip
    region = "ap-northeast-2"
    ec2 = admin("ec2", region)
    while len(ec2.describe_vpcs()["Vpcs"]) < 5:  # the default quota, all in use
        ec2.create_vpc(CidrBlock="10.77.0.0/16")
    bucket, stack = bucket_in(region), stack_name()
    code, out, err = operate(
        "deploy", "--stack", stack, "--region", region, "--bucket", bucket,
        "--output", str(small_output), "--key-pair", key_pair(region), "--bastion-cidr", CIDR,
        clients=moto_clients(moto_url, "defaults"),
    )  # fmt: skip
    assert code == 2
    assert "VPCs per Region (vpc L-F678F1CE): the set needs 1, 5 in use of 5" in err
    assert admin("s3", region).list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    stacks = admin("cloudformation", region).list_stacks()["StackSummaries"]
    assert stack not in [s["StackName"] for s in stacks]
