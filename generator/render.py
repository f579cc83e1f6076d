"""Renders a topology as one template set for one partition: {file name: YAML text}."""

from __future__ import annotations

from generator import naming
from generator.model import Topology
from generator.partitions import PARTITIONS
from generator.stacks import (
    appliances,
    bastion,
    gwlb,
    inspection_routes,
    master,
    network,
    ssm_role,
    web,
)
from generator.stacks.base import Nested
from generator.stacks.parameters import catalogue


def nested_stacks(topology: Topology, partition_name: str) -> list[Nested]:
    """Every nested template of the set, in the order the master lists them."""
    partition = PARTITIONS[partition_name]
    params = catalogue(topology)
    return [
        ssm_role.build(params),
        network.build(topology, params),
        gwlb.build(topology, partition, params),
        inspection_routes.build(topology, params),
        appliances.build(topology, params),
        web.build(topology, params),
        bastion.build(topology, params),
    ]


def render_set(topology: Topology, partition_name: str) -> dict[str, str]:
    partition = PARTITIONS[partition_name]
    nested = nested_stacks(topology, partition_name)
    files = {naming.nested_file(n.concern): n.template.to_yaml() for n in nested}
    top = master.build(topology, partition, nested, catalogue(topology))
    files[naming.MASTER_FILE] = top.to_yaml()
    return dict(sorted(files.items()))
