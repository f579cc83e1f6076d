"""The appliance fleet's master parameters: sizes, CPU target, the shared TCP idle timeout and
the deregistration delay; with --appliance byo, the user's image and its health check."""

from __future__ import annotations

from core import naming
from generator.model import Topology
from generator.stacks.param_spec import FLEET_GROUP, FLOW_IDLE_RANGE, ParamSpec


def _number(low: int, high: int) -> dict:
    return {"MinValue": low, "MaxValue": high}


def fleet_specs(topology: Topology) -> list[ParamSpec]:
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
            naming.FLOW_IDLE_PARAMETER,
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


def byo_specs() -> list[ParamSpec]:
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
