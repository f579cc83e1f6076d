"""The master CN-GWLB.yml: its parameters, one nested stack per concern wired by declared sources,
and the outputs a user needs after launch."""

from __future__ import annotations

from troposphere import Equals, GetAtt, Join, Not, Output, Parameter, Ref, Template, cloudformation

from core import naming
from core.partitions import Partition
from core.sets import METADATA_KEY
from generator.model import Topology
from generator.stacks.base import (
    FromMaster,
    FromMasterList,
    FromPseudo,
    FromStack,
    FromValue,
    Nested,
)
from generator.stacks.param_spec import ParamSpec

# Nested outputs that the master repeats for the user, by concern (None: all of them).
SURFACED: dict[str, tuple[str, ...] | None] = {
    "Web": None,
    "AppWeb": ("AlbUrl", "WebServer"),  # names starting with these
    "IngressVpc": ("AlbUrl",),
    "SpokeVpc": ("WebServer",),
    "Bastion": None,
    "Appliances": None,
    "GWLB": ("EndpointServiceName",),
}
# Of a spoke's servers, what smoke tests and people use: twenty spokes of three zones stay
# within the master's 200 outputs.
SPOKE_FIELDS = (naming.ID_OUTPUT, naming.SESSION_COMMAND_OUTPUT)
# Said of every application VPC but the bastion's.
NO_BASTION = " No bastion in this VPC: use Session Manager (the bastion is in application VPC 1)."


def build(
    topology: Topology,
    partition: Partition,
    nested: list[Nested],
    catalogue: dict[str, ParamSpec],
    options: dict[str, object],
) -> Template:
    template = Template(
        Description=(
            f"GWLB inspection quickstart ({topology.architecture}, {_scale(topology)}"
            f"{partition.name} partition). Creates a Gateway Load Balancer, appliances, NAT "
            f"gateways, {'a transit gateway, ' if topology.transit else ''}an ALB and EC2 "
            "instances, which are billed while the stack exists."
        )
    )
    template.set_version()
    # What made the set, for the tools that read it back (operate, the lab, the docs): never
    # the Description's prose.
    template.set_metadata(
        {METADATA_KEY: {"Architecture": topology.architecture, "Options": options}}
    )
    _add_parameters(template, nested, catalogue)
    if "ApplianceMaxSize" in template.parameters:
        # A rolling update keeps ApplianceMinSize in service and needs room for one more.
        template.add_rule(
            "ApplianceFleetHasRoom",
            {
                "Assertions": [
                    {
                        "Assert": Not(Equals(Ref("ApplianceMinSize"), Ref("ApplianceMaxSize"))),
                        "AssertDescription": "ApplianceMaxSize must be above ApplianceMinSize",
                    }
                ]
            },
        )
    for item in nested:
        _add_stack(template, item)
    _add_outputs(template, nested)
    return template


def _scale(topology: Topology) -> str:
    apps = len(topology.application_vpcs)
    kind = "spoke" if topology.transit else "application"
    vpcs = f"{apps} {kind} VPC{'s' if apps > 1 else ''}, " if len(topology.vpcs) > 1 else ""
    return f"{vpcs}{topology.az_count} AZ, "


def _add_parameters(
    template: Template, nested: list[Nested], catalogue: dict[str, ParamSpec]
) -> None:
    used = {s.name for n in nested for s in n.sources.values() if isinstance(s, FromMaster)}
    used |= {
        name
        for n in nested
        for s in n.sources.values()
        if isinstance(s, FromMasterList)
        for name in s.names
    }
    for name, spec in catalogue.items():
        if name not in used:
            continue
        param = template.add_parameter(Parameter(name, **spec.kwargs(True)))
        template.add_parameter_to_group(param, spec.group)
        template.set_parameter_label(param, spec.label)


def _source_value(source):
    if isinstance(source, FromMaster | FromPseudo):
        return Ref(source.name)
    if isinstance(source, FromStack):
        return GetAtt(source.stack, naming.nested_output_attribute(source.output))
    if isinstance(source, FromValue):
        return source.value
    if isinstance(source, FromMasterList):
        return Join(",", [Ref(name) for name in source.names])
    raise TypeError(f"unknown parameter source {source!r}")


def _add_stack(template: Template, item: Nested) -> None:
    extra = {}
    if item.after:
        extra["DependsOn"] = list(item.after)
    template.add_resource(
        cloudformation.Stack(
            item.stack_id,
            # A sibling file name; publish.py rewrites it to the uploaded object's URL.
            TemplateURL=item.file,
            Parameters={name: _source_value(src) for name, src in item.sources.items()},
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
            **extra,
        )
    )


def _add_outputs(template: Template, nested: list[Nested]) -> None:
    for item in nested:
        if item.concern not in SURFACED:
            continue
        wanted = SURFACED[item.concern]
        for name, output in item.template.outputs.items():
            if wanted is not None and not name.startswith(wanted):
                continue
            parsed = naming.parse_web_server_output(name)
            if item.concern == "SpokeVpc" and parsed and parsed[2] not in SPOKE_FIELDS:
                continue
            description = output.properties.get("Description", name)
            if item.concern == "AppWeb" and item.prefix != naming.app_prefix(1):
                description += NO_BASTION
            template.add_output(
                Output(
                    naming.prefixed(item.prefix, name),
                    Value=GetAtt(item.stack_id, naming.nested_output_attribute(name)),
                    Description=description,
                )
            )
