"""One master parameter as the generator declares it (type, label, console group, validation),
the console groups, and the CIDR patterns every block parameter shares."""

from __future__ import annotations

from dataclasses import dataclass, field

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
