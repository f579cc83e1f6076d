"""Nested-Appliances: the inspection appliances, an Auto Scaling group from a launch template whose
user data installs appliance/ from the template itself; the group completes once each is healthy."""

from __future__ import annotations

from troposphere import Base64, Equals, GetAtt, If, Not, Ref, Sub, autoscaling, ec2
from troposphere.policies import (
    AutoScalingRollingUpdate,
    CreationPolicy,
    ResourceSignal,
    UpdatePolicy,
)

from core import naming
from generator import userdata
from generator.model import ComponentKind, Topology
from generator.stacks import ipv6_appliances
from generator.stacks.base import Nested, NestedBuilder
from generator.stacks.gwlb import GENEVE_PORT, HEALTH_PORT
from generator.stacks.instances import LINUX_ROOT_DEVICE, encrypted_root, imdsv2
from generator.stacks.param_spec import APPLIANCE_WARMUP_SECONDS
from generator.stacks.security import rule
from generator.stacks.ssm_role import instance_profile, signal_policy

CONCERN = "Appliances"
HAS_USER_DATA = "ApplianceHasUserData"
GROUP_ID = "ApplianceGroup"
SIGNAL_TIMEOUT = "PT15M"
# Explicit rather than the AMI's default, so the flow log's rotation budget has a known disk.
ROOT_VOLUME_GIB = 16


def build(topology: Topology, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: inspection appliances (our own Geneve appliance, installed with no "
        "download) in an Auto Scaling group registered with the GENEVE target group.",
        catalogue,
        topology,
    )
    _add_security_group(builder, topology)
    if _signals(topology):
        signal_policy(builder, "Appliance", "ApplianceSignalPolicy")
    _add_launch_template(builder, topology)
    _add_group(builder, topology)
    return builder.done()


def _add_security_group(builder: NestedBuilder, topology: Topology) -> None:
    vpc = topology.inspection_vpc
    ours = topology.appliance == "ours"
    health_port = HEALTH_PORT if ours else builder.master("ApplianceHealthPort")
    gwlb_subnets = topology.one(ComponentKind.GWLB, vpc.name).subnets
    ingress, egress = [], []
    for subnet in gwlb_subnets:
        cidr = builder.subnet_cidr(subnet)
        where = naming.subnet_label(subnet)
        # GWLB nodes sit in the appliance subnets: Geneve and health checks come from there only.
        ingress.append(rule("udp", GENEVE_PORT, cidr, f"Geneve from the GWLB node in {where}"))
        egress.append(rule("udp", GENEVE_PORT, cidr, f"Geneve back to the GWLB node in {where}"))
        ingress.append(
            rule("tcp", health_port, cidr, f"Health checks from the GWLB node in {where}")
        )
    egress.append(rule("tcp", 443, "0.0.0.0/0", "HTTPS to Session Manager and CloudFormation"))
    builder.template.add_resource(
        ec2.SecurityGroup(
            "ApplianceSecurityGroup",
            GroupDescription="GWLB appliances: Geneve and health checks from the GWLB only",
            VpcId=builder.vpc_ref(vpc),
            SecurityGroupIngress=ingress,
            SecurityGroupEgress=egress,
            Tags=builder.tags("appliance security group"),
        )
    )


def _signals(topology: Topology) -> bool:
    """Whether each appliance signals the group: ours does once healthy; a brought image only
    when its owner says so (else the web servers' signals, which cross the GWLB, gate the
    stack)."""
    return topology.appliance == "ours" or topology.byo_readiness == "signal"


def _image_and_user_data(builder: NestedBuilder, topology: Topology) -> dict:
    if topology.appliance == "ours":
        builder.master(naming.FLOW_IDLE_PARAMETER)  # the user data's --tcp-idle reads it
        return {
            "ImageId": builder.master("LinuxAmiId"),
            "UserData": Base64(
                Sub(
                    userdata.appliance(GROUP_ID, policy_head=ipv6_appliances.policy_head(builder)),
                    **ipv6_appliances.variables(builder),
                )
            ),
        }
    given = builder.master("ApplianceUserData")
    builder.template.add_condition(HAS_USER_DATA, Not(Equals(given, "")))
    return {
        "ImageId": builder.master("ApplianceAmiId"),
        "UserData": If(HAS_USER_DATA, given, Ref("AWS::NoValue")),
    }


def _add_launch_template(builder: NestedBuilder, topology: Topology) -> None:
    builder.template.add_resource(
        ec2.LaunchTemplate(
            "ApplianceLaunchTemplate",
            LaunchTemplateData=ec2.LaunchTemplateData(
                InstanceType=builder.master("ApplianceInstanceType"),
                IamInstanceProfile=ec2.IamInstanceProfile(
                    Name=instance_profile(builder, "Appliance")
                ),
                SecurityGroupIds=[Ref("ApplianceSecurityGroup")],
                MetadataOptions=imdsv2(),
                BlockDeviceMappings=encrypted_root(
                    LINUX_ROOT_DEVICE, launch_template=True, size_gib=ROOT_VOLUME_GIB
                ),
                **_image_and_user_data(builder, topology),
            ),
        )
    )


def _readiness(desired: Ref, smallest: Ref, signals: bool) -> dict:
    """Creation waits for one signal per appliance when appliances signal; a rolling update
    brings in one new appliance at a time while the fewest allowed stay in service, and the
    existing flows of a replaced one move to the others (rebalance)."""
    rolling = {"MinInstancesInService": smallest, "MaxBatchSize": "1"}
    if not signals:
        return {
            "UpdatePolicy": UpdatePolicy(
                AutoScalingRollingUpdate=AutoScalingRollingUpdate(**rolling, PauseTime="PT5M")
            )
        }
    return {
        "CreationPolicy": CreationPolicy(
            ResourceSignal=ResourceSignal(Count=desired, Timeout=SIGNAL_TIMEOUT)
        ),
        # In place before any appliance boots, so its first signal is allowed.
        "DependsOn": ["ApplianceSignalPolicy"],
        "UpdatePolicy": UpdatePolicy(
            AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                **rolling, WaitOnResourceSignals=True, PauseTime=SIGNAL_TIMEOUT
            )
        ),
    }


def _add_group(builder: NestedBuilder, topology: Topology) -> None:
    group = topology.one(ComponentKind.APPLIANCES, topology.inspection_vpc.name)
    subnets = [builder.subnet_ref(s) for s in group.subnets]
    smallest, desired = builder.master("ApplianceMinSize"), builder.master("ApplianceDesiredSize")
    builder.template.add_resource(
        autoscaling.AutoScalingGroup(
            GROUP_ID,
            MinSize=smallest,
            MaxSize=builder.master("ApplianceMaxSize"),
            DesiredCapacity=desired,
            VPCZoneIdentifier=subnets,
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref("ApplianceLaunchTemplate"),
                Version=GetAtt("ApplianceLaunchTemplate", "LatestVersionNumber"),
            ),
            TargetGroupARNs=[builder.output_of("GWLB", "ApplianceTargetGroupArn")],
            # The GWLB's view of health replaces an appliance whose data plane has stopped.
            HealthCheckType="ELB",
            HealthCheckGracePeriod=300,
            # Scaling waits this long before counting a new appliance's CPU in the average.
            DefaultInstanceWarmup=APPLIANCE_WARMUP_SECONDS,
            Tags=[
                autoscaling.Tag("Name", builder.name_value("appliance"), True),
            ],
            **_readiness(desired, smallest, _signals(topology)),
        )
    )
    builder.template.add_resource(
        autoscaling.ScalingPolicy(
            "ApplianceCpuScaling",
            AutoScalingGroupName=Ref(GROUP_ID),
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ASGAverageCPUUtilization"
                ),
                TargetValue=builder.master("ApplianceCpuTarget"),
            ),
        )
    )
    builder.output("ApplianceGroupName", Ref(GROUP_ID), "Auto Scaling group of the appliances.")
    builder.output(
        "ApplianceListCommand",
        Sub(
            "aws ec2 describe-instances --region ${AWS::Region} --filters "
            f"Name=tag:aws:autoscaling:groupName,Values=${{{GROUP_ID}}} "
            "--query 'Reservations[].Instances[].[InstanceId,PrivateIpAddress]' --output text"
        ),
        "Lists the appliances' instance ids and private IPs.",
    )
