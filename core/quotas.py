"""The account quotas a launch draws on: what each counts, its Service Quotas code, and AWS's
documented default. Preflight checks them against an account; ARCHITECTURE.md lists each set's
needs beside them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    """One quota: what it counts, where Service Quotas keeps it."""

    need: str  # the verify.needs.Needs field, or "vcpus"
    label: str
    service: str
    code: str  # "" for a fixed limit that Service Quotas does not list
    default: float  # AWS's documented default, used when Service Quotas cannot be read

    @property
    def adjustable(self) -> bool:
        return bool(self.code)


QUOTAS = (
    Quota("elastic_ips", "Elastic IPs", "ec2", "L-0263D0A3", 5),
    Quota("vpcs", "VPCs per Region", "vpc", "L-F678F1CE", 5),
    Quota("internet_gateways", "Internet gateways per Region", "vpc", "L-A4707A72", 5),
    Quota("nat_gateways_per_zone", "NAT gateways per AZ", "vpc", "L-FE5A380F", 5),
    Quota("endpoints_per_vpc", "Interface + GWLB endpoints per VPC", "vpc", "L-29B6F2EB", 50),
    Quota("vcpus", "On-Demand Standard vCPUs", "ec2", "L-1216C47A", 5),
    # tgw-centralized: one new gateway, whose own quotas start from nothing in use.
    Quota("transit_gateways", "Transit gateways per Region", "ec2", "L-A2478D36", 5),
    Quota("transit_route_tables", "Route tables per transit gateway", "ec2", "L-43872EB7", 20),
    Quota("transit_attachments", "Attachments per transit gateway", "ec2", "", 5000),
    Quota("transit_routes", "Routes per transit gateway (static and propagated)", "ec2", "", 10000),
)
