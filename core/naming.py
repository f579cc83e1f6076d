"""The one place that makes and parses logical IDs, parameter, output and stack names, and human
labels, so the generator, the set reader, the lab, operate and the publisher all agree."""

from __future__ import annotations

import re
from typing import Protocol

# The master's file name is core's (the publisher needs it too); naming passes it on.
from core.sets import MASTER_FILE as MASTER_FILE


class _Tier(Protocol):
    value: str


class Subnet(Protocol):
    """What naming needs of a model subnet (generator.model.Subnet has it)."""

    tier: _Tier
    az: int
    vpc_prefix: str


class Vpc(Protocol):
    name: str


SINGLE_VPC = "Vpc"
INSPECTION_PREFIX = "Inspection"
INGRESS_PREFIX = "Ingress"  # tgw-centralized's VPC of the ALB and the bastion
# A master-level name: an optional VPC prefix, then the part's own name. The inspection VPC's
# master-level names are InspectionVpc..., InspectionNetwork...: single-vpc's InspectionRoutes
# concern is no prefixed name.
_PREFIXED = re.compile(
    r"^(?P<prefix>App[1-9][0-9]*|Inspection(?=Vpc|Network)|Ingress(?=Vpc))?"
    r"(?P<rest>[A-Z][A-Za-z0-9]*)$"
)

# Human labels for the tiers, used in Name tags and console labels.
TIER_LABELS = {
    "Public": "public",
    "Endpoint": "GWLB endpoint",
    "Appliance": "appliance",
    "Application": "application",
    "Transit": "transit gateway attachment",
}


def app_prefix(number: int) -> str:
    """The prefix of application VPC `number`, e.g. App2."""
    return f"App{number}"


def vpc_name(prefix: str) -> str:
    """A VPC's name from its prefix: Vpc, InspectionVpc, App2Vpc."""
    return f"{prefix}Vpc"


def vpc_cidr_param(vpc: Vpc) -> str:
    return f"{vpc.name}Cidr"


def prefixed(prefix: str, name: str) -> str:
    """A master-level name of one VPC's part, e.g. App2 + AlbUrl = App2AlbUrl."""
    return f"{prefix}{name}"


def parse_prefixed(name: str) -> tuple[str, str]:
    """(prefix, rest) of a master-level name: App2AlbUrl gives ('App2', 'AlbUrl')."""
    match = _PREFIXED.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a logical id, parameter or output name")
    return match["prefix"] or "", match["rest"]


def subnet_id(subnet: Subnet) -> str:
    """Logical ID of a subnet inside its template, e.g. PublicSubnet1 (AZs count from 1)."""
    return f"{subnet.tier.value}Subnet{subnet.az + 1}"


def qualified_subnet_id(subnet: Subnet) -> str:
    """A subnet's name across the whole set, e.g. App2PublicSubnet1."""
    return prefixed(subnet.vpc_prefix, subnet_id(subnet))


def subnet_cidr_param(subnet: Subnet) -> str:
    return f"{subnet_id(subnet)}Cidr"


def route_table_id(subnet: Subnet) -> str:
    return f"{subnet_id(subnet)}RouteTable"


def association_id(subnet: Subnet) -> str:
    return f"{subnet_id(subnet)}RouteTableAssociation"


def nat_id(az: int) -> str:
    return f"NatGateway{az + 1}"


def nat_eip_id(az: int) -> str:
    return f"NatGateway{az + 1}Eip"


def endpoint_id(az: int) -> str:
    return f"GwlbEndpoint{az + 1}"


def route_id(table_subnet: Subnet, target: str, destination: str) -> str:
    """Logical ID of one route: its table, where it points and what it matches."""
    return f"{subnet_id(table_subnet)}To{destination}Via{target}"


# The transit gateway (tgw-centralized): the gateway, its route tables by what they serve, and
# in each attached VPC's template its attachment, association and propagation.
TRANSIT_GATEWAY_ID = "TransitGateway"
TRANSIT_ATTACHMENT_ID = "TransitGatewayAttachment"
TRANSIT_ASSOCIATION_ID = "TransitGatewayAssociation"


def transit_table_id(name: str) -> str:
    """A transit gateway route table by what it serves: TransitSpokesRouteTable."""
    return f"Transit{name}RouteTable"


def transit_propagation_id(table: str) -> str:
    return f"TransitGatewayPropagationTo{table}"


def transit_route_id(table: str, destination: str, vpc: Vpc) -> str:
    """A static route of a transit gateway table: TransitSpokesToInternetViaInspectionVpc."""
    return f"Transit{table}To{destination}Via{vpc.name}"


def prefixed_output(vpc_prefix: str, output: str) -> str:
    """A parameter carrying another VPC's stack output, e.g. App2 + WebServer1PrivateIp."""
    return prefixed(vpc_prefix, output)


def web_server_id(az: int) -> str:
    return f"WebServer{az + 1}"


def stack_id(concern: str, prefix: str = "") -> str:
    """Logical ID of a nested stack in the master, e.g. NetworkStack, App2VpcStack."""
    return f"{prefix}{concern}Stack"


def nested_output_attribute(output: str) -> str:
    """The GetAtt attribute of a nested stack's output, e.g. Outputs.VpcId."""
    return f"Outputs.{output}"


def parse_nested_output_attribute(attribute: str) -> str | None:
    """The output a GetAtt attribute names (Outputs.VpcId gives VpcId); None for another."""
    return attribute.removeprefix("Outputs.") if attribute.startswith("Outputs.") else None


# ${Stack.Outputs.Name} inside an Fn::Sub text.
_SUB_OUTPUT = re.compile(r"\$\{(?P<stack>[A-Za-z0-9]+)\.Outputs\.(?P<output>[A-Za-z0-9]+)\}")


def sub_output_reads(text: str) -> list[tuple[str, str]]:
    """(stack, output) of every nested output an Fn::Sub text reads."""
    return [(m["stack"], m["output"]) for m in _SUB_OUTPUT.finditer(text)]


def role_id(kind: str) -> str:
    """An instance role by the kind of instance it serves: ApplianceRole, WebRole, BastionRole."""
    return f"{kind}Role"


def instance_profile_id(kind: str) -> str:
    return f"{kind}InstanceProfile"


def instance_profile_output(kind: str) -> str:
    return f"{kind}InstanceProfileName"


def role_output(kind: str) -> str:
    return f"{kind}RoleName"


def route_target_word(kind_word: str, az: int | None) -> str:
    """How a route's logical ID names its target: Igw, Nat2, Gwlbe1 (AZs count from 1)."""
    return kind_word if az is None else f"{kind_word}{az + 1}"


def nested_file(concern: str) -> str:
    return f"Nested-{concern}.yml"


def subnet_label(subnet: Subnet) -> str:
    """Readable subnet name for Name tags, e.g. 'application subnet 2'."""
    return f"{TIER_LABELS[subnet.tier.value]} subnet {subnet.az + 1}"


# The master parameter that sets the GWLB's TCP idle timeout and the appliances' alike.
FLOW_IDLE_PARAMETER = "FlowIdleTimeout"


def resource_label(stack: str, logical: str) -> str:
    """A resource's name for people across a whole set: its logical ID, with its VPC's prefix
    where the stack belongs to one (App2VpcStack/PublicSubnet1 is App2PublicSubnet1,
    NetworkStack/PublicSubnet1 is PublicSubnet1). Stacks of other sets add nothing."""
    match = _PREFIXED.match(stack)
    return prefixed(match["prefix"] or "", logical) if match else logical


def stack_qualified_label(stack: str, logical: str) -> str:
    """The label of a resource whose plain label another stack's resource also has."""
    return f"{stack}-{logical}"


def resource_ref(stack: str, logical: str) -> str:
    """The symbolic physical ID the set reader gives a resource: its stack, then its logical ID."""
    return f"{stack}/{logical}"


def group_member_ref(group_ref: str, number: int) -> str:
    """The reader's ID for member `number` (from 1) of an Auto Scaling group."""
    return f"{group_ref}#{number}"


def group_member_label(group_label: str, number: int) -> str:
    return f"{group_label}{number}"


def parse_resource_ref(ref: str) -> tuple[str, str]:
    """(stack, logical ID) of a symbolic physical ID made by resource_ref."""
    stack, _, logical = ref.rpartition("/")
    return stack, logical


# Outputs a resource's stack gives about it: its ID, private IP, and the commands to reach it.
ID_OUTPUT = "Id"
PRIVATE_IP_OUTPUT = "PrivateIp"
SESSION_COMMAND_OUTPUT = "SessionCommand"
PORT_FORWARD_OUTPUT = "PortForwardCommand"
ALB_URL_OUTPUT = "AlbUrl"
_WEB_SERVER_OUTPUT = re.compile(r"^WebServer(?P<number>[1-9][0-9]*)(?P<field>[A-Z][A-Za-z]*)$")
_APP_PREFIX = re.compile(r"^App(?P<number>[1-9][0-9]*)$")


def resource_output(logical: str, field: str = ID_OUTPUT) -> str:
    """The output naming one field of a resource, e.g. WebServer1 + Id = WebServer1Id."""
    return f"{logical}{field}"


def parse_app_prefix(prefix: str) -> int:
    """The number of an application VPC prefix (App2 gives 2); 0 for no prefix (single-vpc)."""
    if not prefix:
        return 0
    match = _APP_PREFIX.match(prefix)
    if match is None:
        raise ValueError(f"{prefix!r} is not an application VPC prefix")
    return int(match["number"])


def parse_web_server_output(name: str) -> tuple[str, int, str] | None:
    """(VPC prefix, web server number, field) of a master output such as App2WebServer1Id;
    None for any other output."""
    try:
        prefix, rest = parse_prefixed(name)
    except ValueError:
        return None
    match = _WEB_SERVER_OUTPUT.match(rest)
    if match is None or (prefix and not _APP_PREFIX.match(prefix)):
        return None
    return prefix, int(match["number"]), match["field"]


_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


def validate_stack_name(name: str) -> str:
    """The stack name, or ValueError saying CloudFormation's rule: letters, digits and hyphens,
    a letter first, at most 128 characters."""
    if not _STACK_NAME.fullmatch(name):
        raise ValueError(
            f"invalid stack name {name!r}: use letters, digits and hyphens, "
            "starting with a letter, at most 128 characters"
        )
    return name


# The master parameter that pins the set's zones; empty means Fn::GetAZs picks them.
AVAILABILITY_ZONES_PARAMETER = "AvailabilityZones"


# Dual-stack IPv6 (issue 18): one master parameter, passed down to every nested template that
# needs it, where one condition of that template's own decides every IPv6 resource and property.
IP_ADDRESS_TYPE_PARAMETER = "IpAddressType"
DUAL_STACK_CONDITION = "DualStack"
VPC_IPV6_BLOCK_ID = "VpcIpv6CidrBlock"  # the VPC's Amazon-provided /56
# A resource that costs nothing and waits for the /56 when there is one: subnets depend on it.
IPV6_READY_ID = "Ipv6BlockReady"
VPC_IPV6_OUTPUT = "VpcIpv6Block"  # the /56, or "" with ipv4 (no "Cidr" suffix: not a master CIDR)
INTERNET_GATEWAY_OUTPUT = "InternetGatewayId"
EDGE_TABLE_ID = "InternetGatewayRouteTable"  # the gateway's own (edge) route table
EDGE_ASSOCIATION_ID = "InternetGatewayRouteTableAssociation"
IPV6_INTERNET_WORD = "Ipv6Internet"  # the destination ::/0 in a route's logical ID


def ipv6_block_word(subnet: Subnet) -> str:
    """How a route's logical ID names a subnet's IPv6 block, e.g. ApplicationSubnet1Ipv6."""
    return f"{subnet_id(subnet)}Ipv6"


def edge_route_id(target: str, destination: str) -> str:
    """Logical ID of a route of the internet gateway's edge route table."""
    return f"InternetGatewayTo{destination}Via{target}"
