"""Shared machinery for nested stacks: declared inputs, their sources in the master, outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from troposphere import Output, Parameter, Ref, Sub, Tag, Tags, Template

from generator import naming
from generator.model import Subnet
from generator.stacks.parameters import ParamSpec


@dataclass(frozen=True)
class FromMaster:
    """A nested parameter fed by the master parameter of the same name."""

    name: str


@dataclass(frozen=True)
class FromStack:
    """A nested parameter fed by another nested stack's output."""

    concern: str
    output: str


@dataclass(frozen=True)
class FromPseudo:
    """A nested parameter fed by a pseudo parameter of the master, such as AWS::StackName."""

    name: str


Source = FromMaster | FromStack | FromPseudo
ROOT_STACK_PARAM = "RootStackName"


@dataclass
class Nested:
    """One nested template plus how the master feeds it."""

    concern: str
    template: Template
    sources: dict[str, Source] = field(default_factory=dict)
    # Nested stacks that must be complete first although no data flows from them.
    after: tuple[str, ...] = ()


class NestedBuilder:
    """Builds one nested template; every input is declared once, with where its value comes from."""

    def __init__(self, concern: str, description: str, catalogue: dict[str, ParamSpec]):
        self.concern = concern
        self.catalogue = catalogue
        self.template = Template(Description=description)
        self.template.set_version()
        self.sources: dict[str, Source] = {}

    def _declare(self, name: str, source: Source, **kwargs) -> Ref:
        if name not in self.sources:
            self.template.add_parameter(Parameter(name, **kwargs))
            self.sources[name] = source
        return Ref(name)

    def master(self, name: str) -> Ref:
        """Input passed through from the master parameter `name` (declared without a default)."""
        return self._declare(name, FromMaster(name), **self.catalogue[name].kwargs(False))

    def output_of(self, concern: str, output: str, type_: str = "String", what: str = "") -> Ref:
        """Input taken from another nested stack's output of the same name."""
        description = what or f"{output} from the {concern} stack."
        return self._declare(
            output, FromStack(concern, output), Type=type_, Description=description
        )

    def subnet_input(self, subnet: Subnet) -> Ref:
        """A subnet's ID, taken from the Network stack."""
        return self.output_of("Network", f"{naming.subnet_id(subnet)}Id", "AWS::EC2::Subnet::Id")

    def vpc_input(self) -> Ref:
        return self.output_of("Network", "VpcId", "AWS::EC2::VPC::Id")

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
        return Sub(f"${{{ROOT_STACK_PARAM}}} {' '.join(label)}")

    def tags(self, *label: str) -> Tags:
        return Tags(Tag("Name", self.name_value(*label)))

    def done(self, after: tuple[str, ...] = ()) -> Nested:
        return Nested(self.concern, self.template, self.sources, after)
