"""Generator options: their defaults and limits, validated before anything is planned or written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from generator.errors import OptionsError

PARTITIONS = ("aws", "aws-cn")
ARCHITECTURES = ("single-vpc",)
# An Application Load Balancer needs subnets in at least two AZs; China's regions have three AZs
# each, the fewest among the regions we support.
MIN_AZS, MAX_AZS = 2, 3
MAX_APPLIANCES_PER_AZ = 4


@dataclass(frozen=True)
class Options:
    partitions: tuple[str, ...] = PARTITIONS
    architecture: str = "single-vpc"
    az_count: int = 2
    vpc_cidr: str = "10.0.0.0/16"
    subnet_prefix: int = 24
    # Explicit subnet blocks by logical ID (e.g. {"ApplicationSubnet1": "10.0.40.0/24"}).
    subnet_cidrs: Mapping[str, str] = field(default_factory=dict)
    appliances_per_az: int = 1

    def __post_init__(self) -> None:
        for partition in self.partitions:
            if partition not in PARTITIONS:
                raise OptionsError(
                    f"unknown partition {partition!r}; choose from {', '.join(PARTITIONS)} or both"
                )
        if not self.partitions:
            raise OptionsError("at least one partition is needed")
        if self.architecture not in ARCHITECTURES:
            raise OptionsError(
                f"unknown architecture {self.architecture!r}; available: {', '.join(ARCHITECTURES)}"
            )
        if not MIN_AZS <= self.az_count <= MAX_AZS:
            raise OptionsError(
                f"AZ count {self.az_count} is out of range {MIN_AZS}-{MAX_AZS} (the ALB needs "
                "two AZs; China's regions have three)"
            )
        if not 1 <= self.appliances_per_az <= MAX_APPLIANCES_PER_AZ:
            raise OptionsError(
                f"appliances per AZ {self.appliances_per_az} is out of range "
                f"1-{MAX_APPLIANCES_PER_AZ}"
            )
