"""Renders a topology as one template set for one partition: {file name: YAML text}."""

from __future__ import annotations

from core import naming
from core.partitions import PARTITIONS, Partition
from generator.model import Topology, VpcRole
from generator.stacks import (
    app_vpc,
    app_web,
    appliances,
    bastion,
    gwlb,
    ingress_vpc,
    inspection_routes,
    master,
    network,
    spoke_vpc,
    ssm_role,
    transit,
    web,
)
from generator.stacks.base import Nested
from generator.stacks.param_spec import ParamSpec
from generator.stacks.parameters import catalogue


def nested_stacks(topology: Topology, partition_name: str) -> list[Nested]:
    """Every nested stack of the set, in the order the master lists them."""
    partition = PARTITIONS[partition_name]
    params = catalogue(topology)
    inspection = topology.inspection_vpc
    if topology.transit is not None:
        return _tgw_stacks(topology, partition, params)
    if inspection.role is VpcRole.BOTH:  # single-vpc: one stack per concern
        return [
            ssm_role.build(params, topology, ("Appliance", "Web", "Bastion")),
            network.build(topology, inspection, params, export_route_tables=True),
            gwlb.build(topology, partition, params),
            inspection_routes.build(topology, inspection, params),
            appliances.build(topology, params),
            web.build(topology, inspection, params),
            bastion.build(topology, params),
        ]
    # separated-vpc: each application VPC is two stacks of two shared templates, its network
    # before the appliances (whose dual-stack policy names its /56) and its servers after them.
    apps = topology.application_vpcs
    return [
        ssm_role.build(params, topology, ("Appliance", "Bastion")),
        network.build(topology, inspection, params, export_route_tables=False),
        gwlb.build(topology, partition, params),
        *(app_vpc.build(topology, vpc, params) for vpc in apps),
        appliances.build(topology, params),
        *(app_web.build(topology, vpc, params) for vpc in apps),
        bastion.build(topology, params),
    ]


def _tgw_stacks(
    topology: Topology, partition: Partition, params: dict[str, ParamSpec]
) -> list[Nested]:
    """tgw-centralized: the gateway first, the inspection VPC whole, then each spoke from one
    template, then the ingress VPC (its ALB's targets are the spokes' servers) and the bastion."""
    inspection = topology.inspection_vpc
    (ingress,) = topology.vpcs_of(VpcRole.INGRESS)
    return [
        ssm_role.build(params, topology, ("Appliance", "Bastion")),
        transit.build(topology, params),
        network.build(topology, inspection, params, export_route_tables=True),
        gwlb.build(topology, partition, params),
        inspection_routes.build(topology, inspection, params),
        appliances.build(topology, params),
        *(spoke_vpc.build(topology, vpc, params) for vpc in topology.vpcs_of(VpcRole.APPLICATION)),
        ingress_vpc.build(topology, ingress, params),
        bastion.build(topology, params),
    ]


def render_set(
    topology: Topology, partition_name: str, options: dict[str, object] | None = None
) -> dict[str, str]:
    """{file name: YAML text}; `options` (what made the set) go into the master's Metadata."""
    partition = PARTITIONS[partition_name]
    nested = nested_stacks(topology, partition_name)
    files: dict[str, str] = {}
    for item in nested:
        text = item.template.to_yaml()
        # Stacks that share a file must share its text: one template, many instances.
        if files.setdefault(item.file, text) != text:
            raise AssertionError(f"{item.stack_id}: {item.file} differs from another instance")
    top = master.build(topology, partition, nested, catalogue(topology), options or {})
    files[naming.MASTER_FILE] = top.to_yaml()
    return dict(sorted(files.items()))
