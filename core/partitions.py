"""The partitions we generate for, and what really differs between them. Templates use pseudo
parameters (AWS::Partition, AWS::URLSuffix) for everything else, so one set serves every region
of its partition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    name: str
    # GWLB endpoints name their service as <prefix>.<region>.<service id>.
    endpoint_service_prefix: str
    # Regions whose names start with this belong to the partition ("" for the global one).
    region_prefix: str
    domain: str  # what AWS::URLSuffix resolves to: service hosts end with it
    console_host: str
    lint_regions: tuple[str, ...]


PARTITIONS = {
    "aws": Partition(
        "aws",
        "com.amazonaws.vpce",
        "",
        "amazonaws.com",
        "console.aws.amazon.com",
        ("us-east-1",),
    ),
    "aws-cn": Partition(
        "aws-cn",
        "cn.com.amazonaws.vpce",
        "cn-",
        "amazonaws.com.cn",
        "console.amazonaws.cn",
        ("cn-north-1", "cn-northwest-1"),
    ),
}
# Partitions that exist but have no template sets here.
UNSUPPORTED_REGION_PREFIXES = ("us-gov-", "us-iso")


def partition_of_region(region: str) -> Partition | None:
    """The partition of a region, or None when we have no templates for its partition."""
    if region.startswith(UNSUPPORTED_REGION_PREFIXES):
        return None
    for partition in PARTITIONS.values():
        if partition.region_prefix and region.startswith(partition.region_prefix):
            return partition
    return PARTITIONS["aws"]
