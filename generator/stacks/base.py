"""Shared machinery for nested stacks: declared inputs, their sources in the master, outputs, and
how a template refers to a VPC, a subnet or a subnet's block wherever that VPC is built."""

from __future__ import annotations

from dataclasses import dataclass, field

from troposphere import (
    Cidr,
    Equals,
    GetAZs,
    If,
    Join,
    Not,
    Output,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    Tag,
    Tags,
    Template,
)

from core import naming
from generator.model import CidrSource, Subnet, Topology, Vpc, VpcRole
from generator.stacks.param_spec import ParamSpec

# Logical ID of the VPC inside whichever template builds it.
VPC_ID = "Vpc"
# True when the master's AvailabilityZones names zones (the launch chose them).
ZONES_GIVEN = "ZonesGiven"


@dataclass(frozen=True)
class FromMaster:
    """A nested parameter fed by a master parameter."""

    name: str


@dataclass(frozen=True)
class FromStack:
    """A nested parameter fed by another nested stack's output."""

    stack: str  # the other stack's logical ID in the master
    output: str


@dataclass(frozen=True)
class FromPseudo:
    """A nested parameter fed by a pseudo parameter of the master, such as AWS::StackName."""

    name: str


@dataclass(frozen=True)
class FromValue:
    """A nested parameter fed a fixed value by the master, e.g. an application VPC's number."""

    value: str


@dataclass(frozen=True)
class FromMasterList:
    """A nested parameter fed the master parameters `names` joined by commas: one input for
    every spoke's block, so each spoke's template text is the same."""

    names: tuple[str, ...]


Source = FromMaster | FromStack | FromPseudo | FromValue | FromMasterList
ROOT_STACK_PARAM = "RootStackName"
VPC_NUMBER_PARAM = "VpcNumber"
GENERIC_VPC_CIDR_PARAM = "VpcCidr"


def network_stack(vpc: Vpc) -> str:
    """Logical ID of the nested stack that builds a VPC's network."""
    if vpc.role is VpcRole.BOTH:
        return naming.stack_id("Network")
    if vpc.role is VpcRole.INSPECTION:
        return naming.stack_id("Network", vpc.prefix)
    return naming.stack_id("Vpc", vpc.prefix)  # an application, spoke or ingress VPC


@dataclass
class Nested:
    """One nested stack: its template, how the master feeds it, and where it is written."""

    concern: str
    template: Template
    sources: dict[str, Source] = field(default_factory=dict)
    # Nested stacks (logical IDs) that must be complete first although no data flows from them.
    after: tuple[str, ...] = ()
    stack_id: str = ""
    file: str = ""
    prefix: str = ""  # the VPC prefix of a per-VPC stack, for its master-level output names

    def __post_init__(self) -> None:
        self.stack_id = self.stack_id or naming.stack_id(self.concern)
        self.file = self.file or naming.nested_file(self.concern)


class NestedBuilder:
    """Builds one nested template; every input is declared once, with where its value comes from.

    `local` names the VPCs whose network this template builds itself; `generic` is the VPC a
    reusable per-VPC template is instantiated for, whose inputs then take names that do not
    mention it (VpcCidr, VpcNumber), so every instance shares one template text.
    """

    def __init__(
        self,
        concern: str,
        description: str,
        catalogue: dict[str, ParamSpec],
        topology: Topology,
        local: tuple[str, ...] = (),
        generic: Vpc | None = None,
    ):
        self.concern = concern
        self.catalogue = catalogue
        self.topology = topology
        self.local = local
        self.generic = generic
        self.template = Template(Description=description)
        self.template.set_version()
        self.sources: dict[str, Source] = {}

    def _declare(self, name: str, source: Source, **kwargs) -> Ref:
        known = self.sources.get(name)
        if known is None:
            self.template.add_parameter(Parameter(name, **kwargs))
            self.sources[name] = source
        elif known != source:
            raise ValueError(f"{self.concern}: input {name} has two sources, {known} and {source}")
        return Ref(name)

    def master(self, name: str) -> Ref:
        """Input passed through from the master parameter `name` (declared without a default)."""
        return self._declare(name, FromMaster(name), **self.catalogue[name].kwargs(False))

    def availability_zone(self, index: int):
        """The zone of AZ `index`: from the master's AvailabilityZones when it names zones,
        else the region's own order. One condition per template, whatever the AZ count."""
        zones = self.master(naming.AVAILABILITY_ZONES_PARAMETER)
        if ZONES_GIVEN not in self.template.conditions:
            self.template.add_condition(ZONES_GIVEN, Not(Equals(zones, "")))
        chosen = If(ZONES_GIVEN, zones, Join(",", GetAZs("")))
        return Select(index, Split(",", chosen))

    def output_of(self, concern: str, output: str, type_: str = "String", what: str = "") -> Ref:
        """Input taken from the output of the same name of a one-of-a-kind nested stack."""
        return self.output_of_stack(naming.stack_id(concern), output, type_, what)

    def output_of_stack(
        self, stack: str, output: str, type_: str = "String", what: str = "", name: str = ""
    ) -> Ref:
        """Input taken from another stack's output; `name` when several stacks give an output
        of the same name (App2WebServer1PrivateIp)."""
        owner = f"the {stack.removesuffix('Stack')} stack"
        if self.generic is not None and stack == network_stack(self.generic):
            owner = "this application VPC's network stack"  # every instance's text the same
        description = what or f"{output} from {owner}."
        return self._declare(
            name or output, FromStack(stack, output), Type=type_, Description=description
        )

    def master_list(self, name: str, names: tuple[str, ...], description: str) -> Ref:
        """Input holding several master parameters' values, comma-separated."""
        return self._declare(name, FromMasterList(names), Type="String", Description=description)

    def vpc_ref(self, vpc: Vpc):
        if vpc.name in self.local:
            return Ref(VPC_ID)
        return self.output_of_stack(network_stack(vpc), "VpcId", "AWS::EC2::VPC::Id")

    def subnet_ref(self, subnet: Subnet):
        """A subnet's ID: its resource here, or the output of the stack that builds it."""
        sid = naming.subnet_id(subnet)
        if subnet.vpc in self.local:
            return Ref(sid)
        stack = network_stack(self.topology.vpc(subnet.vpc))
        return self.output_of_stack(stack, naming.resource_output(sid), "AWS::EC2::Subnet::Id")

    def vpc_cidr(self, vpc: Vpc) -> Ref:
        """The VPC's block, as the master parameter that sets it."""
        if vpc == self.generic:
            spec = self.catalogue[naming.vpc_cidr_param(vpc)]
            kwargs = spec.kwargs(False) | {"Description": "IPv4 block of this application VPC."}
            return self._declare(
                GENERIC_VPC_CIDR_PARAM, FromMaster(naming.vpc_cidr_param(vpc)), **kwargs
            )
        return self.master(naming.vpc_cidr_param(vpc))

    def subnet_cidr(self, subnet: Subnet):
        """A subnet's block: its own master parameter, or its slice of the VPC's block."""
        vpc = self.topology.vpc(subnet.vpc)
        if vpc.cidr_source is CidrSource.PARAMETERS:
            return self.master(naming.subnet_cidr_param(subnet))
        count = len(self.topology.subnets_of(vpc.name))
        return Select(subnet.index, Cidr(self.vpc_cidr(vpc), count, 32 - vpc.subnet_prefix))

    def vpc_label(self, vpc: Vpc) -> str:
        """How Name tags and pages name the VPC; '' where there is only one."""
        if vpc.role is VpcRole.BOTH:
            return ""
        if vpc == self.generic:
            number = self._declare(
                VPC_NUMBER_PARAM,
                FromValue(str(vpc.number)),
                Type="String",
                Description="Number of this application VPC, for names.",
            )
            return f"application VPC ${{{number.data['Ref']}}}"
        return vpc.label

    def output(self, name: str, value, description: str) -> None:
        self.template.add_output(Output(name, Value=value, Description=description))

    def root_name(self) -> Ref:
        """The master stack's name (for Name tags and for scoping), declared on first use."""
        return self._declare(
            ROOT_STACK_PARAM,
            FromPseudo("AWS::StackName"),
            Type="String",
            Description="Name of the master stack.",
        )

    def name_value(self, *label: str) -> Sub:
        """A Name tag value: the master stack's name, then a readable label."""
        self.root_name()
        return Sub(f"${{{ROOT_STACK_PARAM}}} {' '.join(w for w in label if w)}")

    def tags(self, *label: str) -> Tags:
        return Tags(Tag("Name", self.name_value(*label)))

    def done(
        self, after: tuple[str, ...] = (), stack_id: str = "", file: str = "", prefix: str = ""
    ) -> Nested:
        return Nested(self.concern, self.template, self.sources, after, stack_id, file, prefix)
