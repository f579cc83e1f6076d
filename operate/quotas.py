"""The account side of preflight: each quota's limit (Service Quotas' applied value, else the
AWS default) and what the region already uses of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from core.quotas import Quota
from operate.aws import api_errors, error_code

# On-Demand families that count against the "Standard" vCPU quota.
STANDARD_FAMILIES = ("a", "c", "d", "h", "i", "m", "r", "t", "z")
LIVE_NAT_STATES = ["pending", "available"]
LIVE_INSTANCE_STATES = ["pending", "running"]
LIVE_TRANSIT_STATES = ["pending", "available", "modifying"]


def limit(quotas: Any, quota: Quota) -> tuple[float, str]:
    """(value, where it came from): the applied quota, else AWS's default, else the documented
    default when Service Quotas cannot be read (denied, or not answering)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not quota.adjustable:
        return quota.default, "fixed"
    for call, source in (
        (quotas.get_service_quota, "applied"),
        (quotas.get_aws_default_service_quota, "default"),
    ):
        try:
            return float(
                call(ServiceCode=quota.service, QuotaCode=quota.code)["Quota"]["Value"]
            ), source
        except ClientError as error:
            if error_code(error) != "NoSuchResourceException":
                break
        except BotoCoreError:
            break
    return quota.default, "documented default"


def _pages(call: Any, key: str, **arguments: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = call(**arguments)
        items += page.get(key) or []
        if not page.get("NextToken"):
            return items
        arguments["NextToken"] = page["NextToken"]


def vcpus_of(ec2: Any, instance_types: Iterable[str]) -> dict[str, int]:
    """Default vCPUs of each instance type."""
    kinds = sorted(set(instance_types))
    if not kinds:
        return {}
    with api_errors("ec2:DescribeInstanceTypes"):
        described = _pages(ec2.describe_instance_types, "InstanceTypes", InstanceTypes=kinds)
    return {item["InstanceType"]: int(item["VCpuInfo"]["DefaultVCpus"]) for item in described}


def standard_vcpus(counts: dict[str, int], vcpus: dict[str, int]) -> int:
    """vCPUs of the instances whose family counts against the Standard quota."""
    return sum(
        number * vcpus.get(kind, 0)
        for kind, number in counts.items()
        if kind[:1].lower() in STANDARD_FAMILIES
    )


def usage(ec2: Any, zones: Sequence[str]) -> dict[str, int]:
    """What the region already uses of each quota; NAT gateways in the busiest of `zones`
    (of every zone when none is chosen). The set's VPCs are new, so no endpoint is in them."""
    with api_errors("ec2:DescribeAddresses"):
        addresses = ec2.describe_addresses().get("Addresses") or []
    with api_errors("ec2:DescribeVpcs"):
        vpcs = _pages(ec2.describe_vpcs, "Vpcs")
    with api_errors("ec2:DescribeInternetGateways"):
        gateways = _pages(ec2.describe_internet_gateways, "InternetGateways")
    with api_errors("ec2:DescribeNatGateways"):
        nats = _pages(
            ec2.describe_nat_gateways,
            "NatGateways",
            Filters=[{"Name": "state", "Values": LIVE_NAT_STATES}],
        )
    subnet_ids = sorted({nat["SubnetId"] for nat in nats if nat.get("SubnetId")})
    zone_of: dict[str, str] = {}
    if subnet_ids:
        with api_errors("ec2:DescribeSubnets"):
            for subnet in _pages(ec2.describe_subnets, "Subnets", SubnetIds=subnet_ids):
                zone_of[subnet["SubnetId"]] = subnet["AvailabilityZone"]
    per_zone = Counter(zone_of.get(nat.get("SubnetId", ""), "") for nat in nats)
    busiest = (
        max((per_zone[zone] for zone in zones), default=0)
        if zones
        else max(per_zone.values(), default=0)
    )
    with api_errors("ec2:DescribeInstances"):
        reservations = _pages(
            ec2.describe_instances,
            "Reservations",
            Filters=[{"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}],
        )
    running = Counter(
        instance["InstanceType"]
        for reservation in reservations
        for instance in reservation.get("Instances") or []
    )
    with api_errors("ec2:DescribeTransitGateways"):
        gateways_tgw = _pages(
            ec2.describe_transit_gateways,
            "TransitGateways",
            Filters=[{"Name": "state", "Values": LIVE_TRANSIT_STATES}],
        )
    return {
        "elastic_ips": len(addresses),
        "transit_gateways": len(gateways_tgw),
        # The set's gateway is new: nothing uses its tables, attachments or routes yet.
        "transit_route_tables": 0,
        "transit_attachments": 0,
        "transit_routes": 0,
        "vpcs": len(vpcs),
        "internet_gateways": len(gateways),
        "nat_gateways_per_zone": busiest,
        "endpoints_per_vpc": 0,
        "vcpus": standard_vcpus(dict(running), vcpus_of(ec2, running)),
    }
