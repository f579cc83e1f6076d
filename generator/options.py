"""Generator options: their defaults and limits, validated before anything is planned or written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from core import partitions, sets
from generator.errors import OptionsError

PARTITION_NAMES = tuple(partitions.PARTITIONS)
ARCHITECTURES = sets.ARCHITECTURES
SINGLE_VPC, SEPARATED_VPC, TGW_CENTRALIZED = ARCHITECTURES
# An Application Load Balancer needs subnets in at least two AZs; China's regions have three AZs
# each, the fewest among the regions we support.
MIN_AZS, MAX_AZS = 2, 3
MAX_APPLIANCES_PER_AZ = 4
# Ten application VPCs of three AZs keep the master within CloudFormation's 200 outputs; a
# spoke surfaces half the outputs of an application VPC, so twenty fit.
MAX_APP_VPCS = {SEPARATED_VPC: 10, TGW_CENTRALIZED: 20}
# Without a second spoke there is no east-west traffic to inspect.
DEFAULT_APP_VPCS = {SEPARATED_VPC: 1, TGW_CENTRALIZED: 2}
# Whose appliance the set runs: ours (installed from user data) or an image the user brings.
APPLIANCES = ("ours", "byo")
# How a brought image's readiness is known: it signals CloudFormation itself, or the stack
# relies on the GWLB (the web servers' signals cross it and its healthy appliances).
BYO_READINESS = ("gwlb", "signal")


@dataclass(frozen=True)
class Options:
    partitions: tuple[str, ...] = PARTITION_NAMES
    architecture: str = SINGLE_VPC
    az_count: int = 2
    # The VPC (single-vpc) or the inspection VPC (separated-vpc).
    vpc_cidr: str = "10.0.0.0/16"
    subnet_prefix: int = 24
    # Explicit subnet blocks by logical ID (e.g. {"ApplicationSubnet1": "10.0.40.0/24"}).
    subnet_cidrs: Mapping[str, str] = field(default_factory=dict)
    appliances_per_az: int = 1
    # separated-vpc and tgw-centralized: application VPC (spoke) k takes the k-th block of this
    # size from here on. None: the architecture's default count.
    app_vpcs: int | None = None
    app_vpc_cidr: str = "10.1.0.0/16"
    # tgw-centralized: the VPC of the internet-facing ALB and the bastion.
    ingress_vpc_cidr: str = "10.200.0.0/16"
    appliance: str = "ours"
    byo_readiness: str = "gwlb"

    def __post_init__(self) -> None:
        for partition in self.partitions:
            if partition not in PARTITION_NAMES:
                raise OptionsError(
                    f"unknown partition {partition!r}; choose from "
                    f"{', '.join(PARTITION_NAMES)} or both"
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
        self._check_vpcs()
        if self.appliance not in APPLIANCES:
            raise OptionsError(
                f"unknown appliance {self.appliance!r}; choose from {', '.join(APPLIANCES)}"
            )
        if self.byo_readiness not in BYO_READINESS:
            raise OptionsError(
                f"unknown readiness {self.byo_readiness!r}; choose from {', '.join(BYO_READINESS)}"
            )
        if self.appliance == "ours" and self.byo_readiness != "gwlb":
            raise OptionsError("--byo-readiness needs --appliance byo")
        if self.architecture != SINGLE_VPC and self.subnet_cidrs:
            raise OptionsError(
                f"--subnet-cidr is for single-vpc; {self.architecture} derives each VPC's "
                "subnets from its block (--subnet-prefix sets their size)"
            )
        if (
            self.architecture != TGW_CENTRALIZED
            and self.ingress_vpc_cidr != Options.ingress_vpc_cidr
        ):
            raise OptionsError("--ingress-vpc-cidr needs --architecture tgw-centralized")

    def _check_vpcs(self) -> None:
        if self.architecture == SINGLE_VPC:
            if self.app_vpcs not in (None, 1) or self.app_vpc_cidr != Options.app_vpc_cidr:
                raise OptionsError(
                    "--app-vpcs and --app-vpc-cidr need --architecture separated-vpc or "
                    "tgw-centralized"
                )
            object.__setattr__(self, "app_vpcs", 1)
            return
        if self.app_vpcs is None:
            object.__setattr__(self, "app_vpcs", DEFAULT_APP_VPCS[self.architecture])
        most = MAX_APP_VPCS[self.architecture]
        if not 1 <= self.app_vpcs <= most:
            raise OptionsError(
                f"application VPC count {self.app_vpcs} is out of range 1-{most} for "
                f"{self.architecture}"
            )

    def recorded(self) -> dict[str, object]:
        """What made the topology, as the master's Metadata records it (not the partitions or
        the architecture, which the master records apart)."""
        skip = {"partitions", "architecture"}
        if self.architecture != TGW_CENTRALIZED:
            skip.add("ingress_vpc_cidr")  # sets made before tgw-centralized record none
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        values["subnet_cidrs"] = dict(self.subnet_cidrs)
        return values

    @classmethod
    def from_recorded(cls, architecture: str, partition: str, recorded: Mapping) -> Options:
        """The options a master's Metadata records; unknown keys are refused."""
        known = {f.name for f in fields(cls)} - {"partitions", "architecture"}
        unknown = sorted(set(recorded) - known)
        if unknown:
            raise OptionsError(f"the master's Metadata records unknown options {unknown}")
        return cls(partitions=(partition,), architecture=architecture, **dict(recorded))
