"""ARCHITECTURE.md beside every set: diagram, route tables, route paths and billable resources
agree with the model and with the rendered templates."""

import re

import pytest

from archdoc.page import billable
from core import naming
from generator import topology
from generator.model import ComponentKind
from generator.options import Options
from templates import main
from tests.set_helpers import ALL_SETS, COMMITTED
from verify import reader, routepath


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_every_set_has_its_page_and_the_page_names_every_subnet_and_flow(partition, architecture):
    page = (COMMITTED / partition / architecture / "ARCHITECTURE.md").read_text()
    assert page.startswith(f"# {architecture}: ")
    assert f"{partition} partition" in page
    diagram = page.split("```mermaid\n")[1].split("```")[0]
    assert diagram.startswith("flowchart LR\n")
    net = reader.load(COMMITTED / partition / architecture)
    for subnet_id in net.subnets:
        node = net.label(subnet_id)
        assert re.search(rf"^\s+{node}\[", diagram, re.M), node
        assert f"### {node}: " in page
    flows = routepath.standard_flows(net) + routepath.appliance_egress(net)
    for flow in flows:
        assert f"| {flow.name} |" in page


def test_route_tables_show_the_local_route_and_the_endpoint_routes():
    page = (COMMITTED / "aws" / "single-vpc" / "ARCHITECTURE.md").read_text()
    section = page.split("### ApplicationSubnet2: ")[1].split("###")[0]
    assert "| 10.0.0.0/16 (VPC) | local |" in section
    assert "| 0.0.0.0/0 | GWLB endpoint 2 |" in section
    assert "| 10.0.0.0/24 (public subnet 1) | GWLB endpoint 1 |" in section


def test_billable_resources_of_three_application_vpcs_over_three_azs():
    model = topology.build(Options(architecture="separated-vpc", app_vpcs=3, az_count=3))
    rows = dict(re.findall(r"^\| (.+?) \| (\d+) \|$", billable(model), re.M))
    # Inspection VPC and 3 application VPCs each have a NAT gateway per AZ; one GWLB; each
    # application VPC an endpoint and a web server per AZ and one ALB (a node per AZ).
    assert rows["NAT gateway (hourly and per GB)"] == str(4 * 3)
    assert rows["GWLB endpoint (hourly and per GB)"] == str(3 * 3)
    assert rows["Application Load Balancer (hourly and per LCU)"] == "3"
    assert rows["public IPv4 address (NAT gateways, bastion, ALB nodes)"] == str(12 + 1 + 9)
    assert rows["EC2 t3.micro web server, gp3 root"] == "9"
    assert rows["EC2 t3.small appliance, 16 GiB gp3"] == "3"
    assert rows["Gateway Load Balancer (hourly and per GLCU)"] == "1"
    assert len(model.placed(ComponentKind.BASTION)) == 1


def test_the_diagram_draws_the_inspected_paths(tmp_path):
    assert (
        main(["--output", str(tmp_path), "--architecture", "separated-vpc", "--app-vpcs", "2"]) == 0
    )
    page = (tmp_path / "aws" / "separated-vpc" / "ARCHITECTURE.md").read_text()
    for k in (1, 2):
        assert f"App{k}EndpointSubnet1 == endpoint 1 ==> GatewayLoadBalancer" in page
        assert (
            f"App{k}ApplicationSubnet1 -- internet, PublicSubnet1 --> App{k}EndpointSubnet1" in page
        )
    assert "GatewayLoadBalancer -. Geneve .- InspectionApplianceSubnet2" in page
    assert (
        naming.qualified_subnet_id(topology.build(Options(architecture="separated-vpc")).subnets[0])
        == "InspectionPublicSubnet1"
    )
