"""The master's parameter catalogue: types, defaults, validation, console groups and labels."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core import naming
from generator.model import CidrSource, Topology, Vpc

CIDR_PATTERN = (
    r"^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}"
    r"([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])/([0-9]|[1-2][0-9]|3[0-2])$"
)
CIDR_CONSTRAINT = "an IPv4 CIDR block such as 10.0.0.0/16 (x.x.x.x/0-32)"
_OCTETS = CIDR_PATTERN.split("/")[0]


def vpc_block_pattern(low: int, high: int) -> str:
    """An IPv4 CIDR whose prefix is /low to /high: a VPC block that Fn::Cidr can still carve."""
    return f"{_OCTETS}/({'|'.join(str(n) for n in range(low, high + 1))})$"


LINUX_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
WINDOWS_AMI = "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base"

ZONES_GROUP = "Availability Zones"
NETWORK_GROUP = "Network"
ACCESS_GROUP = "Access"
INSTANCE_GROUP = "Instances"
FLEET_GROUP = "Appliance fleet"
# What one appliance needs from launch to its first healthy check by the GWLB, with room.
APPLIANCE_WARMUP_SECONDS = 180
# The GWLB's TCP idle timeout range (listener attribute tcp.idle_timeout.seconds).
FLOW_IDLE_RANGE = (60, 6000)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    label: str
    group: str
    description: str
    default: str | None = None
    cidr: bool = False
    # A VPC block whose subnets are derived from it: its prefix may be at most this long.
    max_prefix: int | None = None
    extra: dict = field(default_factory=dict)
    # Type of the nested copy when it differs: a Ref to an SSM-typed master parameter already
    # yields the resolved value, which a nested SSM type would look up again as a name.
    nested_type: str | None = None

    def kwargs(self, with_default: bool) -> dict:
        """troposphere Parameter keyword arguments; nested copies never carry defaults."""
        type_ = self.type if with_default else self.nested_type or self.type
        out = {"Type": type_, "Description": self.description, **self.extra}
        if self.max_prefix is not None:
            out["AllowedPattern"] = vpc_block_pattern(16, self.max_prefix)
            out["ConstraintDescription"] = (
                f"must be an IPv4 CIDR block from /16 to /{self.max_prefix}, such as 10.0.0.0/16"
            )
        elif self.cidr:
            out["AllowedPattern"] = CIDR_PATTERN
            out["ConstraintDescription"] = f"must be {CIDR_CONSTRAINT}"
        if with_default and self.default is not None:
            out["Default"] = self.default
        return out


def catalogue(topology: Topology) -> dict[str, ParamSpec]:
    """Every master parameter, in console order."""
    zones = topology.az_count
    specs = [
        ParamSpec(
            naming.AVAILABILITY_ZONES_PARAMETER,
            "String",
            "Availability Zones",
            ZONES_GROUP,
            f"Empty: the region's first {zones} zones. Otherwise exactly {zones} zone names, "
            "comma-separated, in order, e.g. zones that offer every instance type of the set "
            "(make deploy chooses them itself).",
            default="",
            extra={
                "AllowedPattern": rf"^$|^[a-z0-9-]+(,[a-z0-9-]+){{{zones - 1}}}$",
                "ConstraintDescription": f"must be empty or {zones} comma-separated zone names",
            },
        ),
        ParamSpec(
            "KeyPairName",
            "AWS::EC2::KeyPair::KeyName",
            "Key pair",
            ACCESS_GROUP,
            "Existing EC2 key pair of type RSA, used to decrypt the bastion's Windows password "
            "(Windows passwords cannot be decrypted with an ED25519 key).",
        ),
        ParamSpec(
            "BastionAllowedCidr",
            "String",
            "RDP allowed from",
            ACCESS_GROUP,
            "The only IPv4 block allowed to reach the bastion over RDP (3389), e.g. your /32.",
            cidr=True,
        ),
    ]
    for vpc in topology.vpcs:
        specs.append(_vpc_spec(topology, vpc))
    for subnet in topology.subnets:  # planned order: tier by tier, AZ by AZ
        if topology.vpc(subnet.vpc).cidr_source is not CidrSource.PARAMETERS:
            continue
        label = naming.subnet_label(subnet)
        specs.append(
            ParamSpec(
                naming.subnet_cidr_param(subnet),
                "String",
                f"{label[0].upper()}{label[1:]} CIDR",
                NETWORK_GROUP,
                f"IPv4 block of the {label} (AZ {subnet.az + 1}).",
                default=subnet.cidr,
                cidr=True,
            )
        )
    specs += [
        ParamSpec(
            "LinuxAmiId",
            "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Linux AMI",
            INSTANCE_GROUP,
            "Amazon Linux 2023 image for appliances and web servers, resolved by the master from "
            "a public SSM parameter.",
            default=LINUX_AMI,
            nested_type="AWS::EC2::Image::Id",
        ),
        ParamSpec(
            "WindowsAmiId",
            "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Windows AMI",
            INSTANCE_GROUP,
            "Windows Server image for the bastion, resolved by the master from a public SSM "
            "parameter.",
            default=WINDOWS_AMI,
            nested_type="AWS::EC2::Image::Id",
        ),
        ParamSpec(
            "ApplianceInstanceType",
            "String",
            "Appliance instance type",
            INSTANCE_GROUP,
            "Instance type of the inspection appliances.",
            default="t3.small",
            extra={"AllowedPattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"},
        ),
        ParamSpec(
            "WebInstanceType",
            "String",
            "Web server instance type",
            INSTANCE_GROUP,
            "Instance type of the web servers.",
            default="t3.micro",
            extra={"AllowedPattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"},
        ),
        ParamSpec(
            "BastionInstanceType",
            "String",
            "Bastion instance type",
            INSTANCE_GROUP,
            "Instance type of the Windows bastion.",
            default="t3.medium",
            extra={"AllowedPattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"},
        ),
    ]
    specs += _fleet_specs(topology)
    if topology.appliance == "byo":
        specs += _byo_specs()
    return {spec.name: spec for spec in specs}


def _byo_specs() -> list[ParamSpec]:
    """The image a user brings in place of ours, and how the GWLB checks its health."""
    return [
        ParamSpec(
            "ApplianceAmiId",
            "AWS::EC2::Image::Id",
            "Appliance image",
            FLEET_GROUP,
            "Your appliance's AMI (a vendor's or your own). It must answer Geneve on UDP 6081 "
            "with the AWS options intact, and the health check below.",
        ),
        ParamSpec(
            "ApplianceUserData",
            "String",
            "Appliance user data (base64)",
            FLEET_GROUP,
            "Optional user data for your image, base64-encoded as EC2 takes it; empty for none.",
            default="",
        ),
        ParamSpec(
            "ApplianceHealthProtocol",
            "String",
            "Health check protocol",
            FLEET_GROUP,
            "How the GWLB checks an appliance: HTTP, HTTPS or TCP.",
            default="TCP",
            extra={"AllowedValues": ["HTTP", "HTTPS", "TCP"]},
        ),
        ParamSpec(
            "ApplianceHealthPort",
            "Number",
            "Health check port",
            FLEET_GROUP,
            "The port the GWLB checks; the appliances' group admits it from the GWLB's subnets.",
            default="80",
            extra={"MinValue": 1, "MaxValue": 65535},
        ),
        ParamSpec(
            "ApplianceHealthPath",
            "String",
            "Health check path",
            FLEET_GROUP,
            "HTTP(S) only: the path that answers 200 while the appliance forwards.",
            default="/",
            extra={"AllowedPattern": r"^/.*$"},
        ),
    ]


def _number(low: int, high: int) -> dict:
    return {"MinValue": low, "MaxValue": high}


def _fleet_specs(topology: Topology) -> list[ParamSpec]:
    """How many appliances, when to add more, and how long a flow may idle: the same timeout
    for the GWLB's listener and the appliances' flow table, from one parameter."""
    count = topology.az_count * topology.appliances_per_az
    return [
        ParamSpec(
            "ApplianceMinSize",
            "Number",
            "Fewest appliances",
            FLEET_GROUP,
            "The fleet never scales in below this, and a rolling update keeps this many in "
            "service. Must be below ApplianceMaxSize.",
            default=str(count),
            extra=_number(1, 40),
        ),
        ParamSpec(
            "ApplianceDesiredSize",
            "Number",
            "Appliances at launch",
            FLEET_GROUP,
            "Appliances started at launch (between the fewest and the most); spread over the AZs.",
            default=str(count),
            extra=_number(1, 40),
        ),
        ParamSpec(
            "ApplianceMaxSize",
            "Number",
            "Most appliances",
            FLEET_GROUP,
            "The fleet never scales out beyond this.",
            default=str(2 * count),
            extra=_number(2, 40),
        ),
        ParamSpec(
            "ApplianceCpuTarget",
            "Number",
            "CPU target (%)",
            FLEET_GROUP,
            "Average CPU of the fleet that target tracking keeps: above it appliances are "
            "added, below it removed (after the deregistration delay, their flows rebalanced).",
            default="60",
            extra=_number(10, 90),
        ),
        ParamSpec(
            "FlowIdleTimeout",
            "Number",
            "TCP flow idle timeout (s)",
            FLEET_GROUP,
            "How long an idle TCP flow lives, in the GWLB (listener attribute "
            "tcp.idle_timeout.seconds) and in every appliance's flow table alike. Other "
            "protocols: 120 s, fixed.",
            default="350",
            extra=_number(*FLOW_IDLE_RANGE),
        ),
        ParamSpec(
            "ApplianceDeregistrationDelay",
            "Number",
            "Deregistration delay (s)",
            FLEET_GROUP,
            "How long a removed appliance keeps its existing flows before the GWLB rehashes "
            "them onto the others (rebalance), which pick them up mid-stream.",
            default="60",
            extra=_number(0, 3600),
        ),
    ]


def _vpc_spec(topology: Topology, vpc: Vpc) -> ParamSpec:
    name = naming.vpc_cidr_param(vpc)
    if vpc.cidr_source is CidrSource.PARAMETERS:
        return ParamSpec(
            name,
            "String",
            "VPC CIDR",
            NETWORK_GROUP,
            f"IPv4 block of {vpc.name}; every subnet below must lie inside it.",
            default=vpc.cidr,
            cidr=True,
        )
    count = len(topology.subnets_of(vpc.name))
    label = vpc.label[0].upper() + vpc.label[1:]
    return ParamSpec(
        name,
        "String",
        f"{label} CIDR",
        label,  # one console group per VPC
        f"IPv4 block of {'the ' if vpc.number is None else ''}{vpc.label}; its {count} subnets "
        "are consecutive "
        f"/{vpc.subnet_prefix} blocks from its start.",
        default=vpc.cidr,
        cidr=True,
        max_prefix=vpc.subnet_prefix - math.ceil(math.log2(count)),
    )
