"""The master CN-GWLB.yml: its parameters, one nested stack per concern wired by declared sources,
and the outputs a user needs after launch."""

from __future__ import annotations

from troposphere import GetAtt, Output, Parameter, Ref, Template, cloudformation

from generator import naming
from generator.model import Topology
from generator.partitions import Partition
from generator.stacks.base import FromMaster, FromPseudo, FromStack, Nested
from generator.stacks.parameters import ParamSpec

# Nested outputs that the master repeats for the user, by concern (None: all of them).
SURFACED: dict[str, tuple[str, ...] | None] = {
    "Web": None,
    "Bastion": None,
    "Appliances": None,
    "GWLB": ("EndpointServiceName",),
}


def build(
    topology: Topology,
    partition: Partition,
    nested: list[Nested],
    catalogue: dict[str, ParamSpec],
) -> Template:
    t = Template(
        Description=(
            f"GWLB inspection quickstart ({topology.architecture}, {topology.az_count} AZ, "
            f"{partition.name} partition). Creates a Gateway Load Balancer, appliances, NAT "
            "gateways, an ALB and EC2 instances, which are billed while the stack exists."
        )
    )
    t.set_version()
    _add_parameters(t, nested, catalogue)
    for item in nested:
        _add_stack(t, item)
    _add_outputs(t, nested)
    return t


def _add_parameters(t: Template, nested: list[Nested], catalogue: dict[str, ParamSpec]) -> None:
    used = {s.name for n in nested for s in n.sources.values() if isinstance(s, FromMaster)}
    for name, spec in catalogue.items():
        if name not in used:
            continue
        param = t.add_parameter(Parameter(name, **spec.kwargs(True)))
        t.add_parameter_to_group(param, spec.group)
        t.set_parameter_label(param, spec.label)


def _source_value(source):
    if isinstance(source, FromMaster):
        return Ref(source.name)
    if isinstance(source, FromPseudo):
        return Ref(source.name)
    if isinstance(source, FromStack):
        return GetAtt(naming.stack_id(source.concern), f"Outputs.{source.output}")
    raise TypeError(f"unknown parameter source {source!r}")


def _add_stack(t: Template, item: Nested) -> None:
    extra = {}
    if item.after:
        extra["DependsOn"] = [naming.stack_id(c) for c in item.after]
    t.add_resource(
        cloudformation.Stack(
            naming.stack_id(item.concern),
            # A sibling file name; publish.py rewrites it to the uploaded object's URL.
            TemplateURL=naming.nested_file(item.concern),
            Parameters={name: _source_value(src) for name, src in item.sources.items()},
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
            **extra,
        )
    )


def _add_outputs(t: Template, nested: list[Nested]) -> None:
    for item in nested:
        if item.concern not in SURFACED:
            continue
        wanted = SURFACED[item.concern]
        for name, output in item.template.outputs.items():
            if wanted is not None and name not in wanted:
                continue
            t.add_output(
                Output(
                    name,
                    Value=GetAtt(naming.stack_id(item.concern), f"Outputs.{name}"),
                    Description=output.properties.get("Description", name),
                )
            )
