"""The master's parameter catalogue: access, zones, network blocks and instances, then the
fleet's (fleet_parameters), in console order."""

from __future__ import annotations

import math

from core import naming
from generator.model import CidrSource, Topology, Vpc
from generator.stacks.fleet_parameters import byo_specs, fleet_specs
from generator.stacks.ipv6_parameters import ip_address_type_spec
from generator.stacks.param_spec import (
    ACCESS_GROUP,
    INSTANCE_GROUP,
    LINUX_AMI,
    NETWORK_GROUP,
    WINDOWS_AMI,
    ZONES_GROUP,
    ParamSpec,
)


def catalogue(topology: Topology) -> dict[str, ParamSpec]:
    """Every master parameter, in console order."""
    zones = topology.az_count
    specs = [
        ParamSpec(
            naming.AVAILABILITY_ZONES_PARAMETER,
            "String",
            "Availability Zones",
            ZONES_GROUP,
            f"Empty: the region's first {zones} zones. Otherwise exactly {zones} zone names, "
            "comma-separated, in order, e.g. zones that offer every instance type of the set "
            "(make deploy chooses them itself).",
            default="",
            extra={
                "AllowedPattern": rf"^$|^[a-z0-9-]+(,[a-z0-9-]+){{{zones - 1}}}$",
                "ConstraintDescription": f"must be empty or {zones} comma-separated zone names",
            },
        ),
        ParamSpec(
            "KeyPairName",
            "AWS::EC2::KeyPair::KeyName",
            "Key pair",
            ACCESS_GROUP,
            "Existing EC2 key pair of type RSA, used to decrypt the bastion's Windows password "
            "(Windows passwords cannot be decrypted with an ED25519 key).",
        ),
        ParamSpec(
            "BastionAllowedCidr",
            "String",
            "RDP allowed from",
            ACCESS_GROUP,
            "The only IPv4 block allowed to reach the bastion over RDP (3389), e.g. your /32.",
            cidr=True,
        ),
    ]
    specs.append(ip_address_type_spec())
    for vpc in topology.vpcs:
        specs.append(_vpc_spec(topology, vpc))
    for subnet in topology.subnets:  # planned order: tier by tier, AZ by AZ
        if topology.vpc(subnet.vpc).cidr_source is not CidrSource.PARAMETERS:
            continue
        label = naming.subnet_label(subnet)
        specs.append(
            ParamSpec(
                naming.subnet_cidr_param(subnet),
                "String",
                f"{label[0].upper()}{label[1:]} CIDR",
                NETWORK_GROUP,
                f"IPv4 block of the {label} (AZ {subnet.az + 1}).",
                default=subnet.cidr,
                cidr=True,
            )
        )
    specs += [
        ParamSpec(
            "LinuxAmiId",
            "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Linux AMI",
            INSTANCE_GROUP,
            "Amazon Linux 2023 image for appliances and web servers, resolved by the master from "
            "a public SSM parameter.",
            default=LINUX_AMI,
            nested_type="AWS::EC2::Image::Id",
        ),
        ParamSpec(
            "WindowsAmiId",
            "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Windows AMI",
            INSTANCE_GROUP,
            "Windows Server image for the bastion, resolved by the master from a public SSM "
            "parameter.",
            default=WINDOWS_AMI,
            nested_type="AWS::EC2::Image::Id",
        ),
        ParamSpec(
            "ApplianceInstanceType",
            "String",
            "Appliance instance type",
            INSTANCE_GROUP,
            "Instance type of the inspection appliances.",
            default="t3.small",
            extra={"AllowedPattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"},
        ),
        ParamSpec(
            "WebInstanceType",
            "String",
            "Web server instance type",
            INSTANCE_GROUP,
            "Instance type of the web servers.",
            default="t3.micro",
            extra={"AllowedPattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"},
        ),
        ParamSpec(
            "BastionInstanceType",
            "String",
            "Bastion instance type",
            INSTANCE_GROUP,
            "Instance type of the Windows bastion.",
            default="t3.medium",
            extra={"AllowedPattern": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"},
        ),
    ]
    specs += fleet_specs(topology)
    if topology.appliance == "byo":
        specs += byo_specs()
    return {spec.name: spec for spec in specs}


def _vpc_spec(topology: Topology, vpc: Vpc) -> ParamSpec:
    name = naming.vpc_cidr_param(vpc)
    if vpc.cidr_source is CidrSource.PARAMETERS:
        return ParamSpec(
            name,
            "String",
            "VPC CIDR",
            NETWORK_GROUP,
            f"IPv4 block of {vpc.name}; every subnet below must lie inside it.",
            default=vpc.cidr,
            cidr=True,
        )
    count = len(topology.subnets_of(vpc.name))
    label = vpc.label[0].upper() + vpc.label[1:]
    return ParamSpec(
        name,
        "String",
        f"{label} CIDR",
        label,  # one console group per VPC
        f"IPv4 block of {'the ' if vpc.number is None else ''}{vpc.label}; its {count} subnets "
        "are consecutive "
        f"/{vpc.subnet_prefix} blocks from its start.",
        default=vpc.cidr,
        cidr=True,
        max_prefix=vpc.subnet_prefix - math.ceil(math.log2(count)),
    )
