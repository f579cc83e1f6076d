"""Web servers, one per AZ, behind an internet-facing ALB: the only ingress of an application VPC.
Nested-Web holds them in single-vpc; each application VPC's template holds its own (add_web).
Each server signals through the inspection path, so CREATE_COMPLETE means traffic flows."""

from __future__ import annotations

from troposphere import Base64, GetAtt, Ref, Sub, ec2
from troposphere import elasticloadbalancingv2 as elb
from troposphere.policies import CreationPolicy, ResourceSignal

from core import naming
from generator import userdata
from generator.model import ComponentKind, Subnet, Tier, Topology, Vpc
from generator.stacks.base import Nested, NestedBuilder
from generator.stacks.instances import LINUX_ROOT_DEVICE, encrypted_root, imdsv2
from generator.stacks.ipv6_network import ip_address_type, subnet_block
from generator.stacks.ipv6_security import ANYWHERE6, icmp6_echo, per_subnet6, rule6
from generator.stacks.routes import route_id
from generator.stacks.security import icmp_echo, per_subnet, rule
from generator.stacks.ssm_role import instance_profile, signal_policy

CONCERN = "Web"
HTTP = 80
LOCAL_PORT_BASE = 8080  # web server N is forwarded to localhost:8080+N


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: web servers answering 'web server N' behind an internet-facing ALB.",
        catalogue,
        topology,
    )
    # In place before any server boots, so its first signal is allowed.
    signal_policy(builder, "Web", "WebSignalPolicy")
    add_web(builder, vpc, instance_profile(builder, "Web"))
    # The servers' signals cross the GWLB endpoints and appliances, so those must be in place.
    return builder.done(after=(naming.stack_id("InspectionRoutes"), naming.stack_id("Appliances")))


def add_web(builder: NestedBuilder, vpc: Vpc, profile) -> None:
    """Security groups, web servers and the ALB of one VPC. The template must already hold a
    WebSignalPolicy that lets `profile`'s role signal it."""
    vpc_id = builder.vpc_ref(vpc)
    _add_security_groups(builder, vpc, vpc_id)
    add_servers(builder, vpc, profile)
    servers = builder.topology.placed(ComponentKind.WEB_SERVER, vpc.name)
    targets = [
        elb.TargetDescription(Id=Ref(naming.web_server_id(s.subnets[0].az)), Port=HTTP)
        for s in servers
    ]
    add_load_balancer(builder, vpc, vpc_id, targets, "instance")


def _add_security_groups(builder: NestedBuilder, vpc: Vpc, vpc_id) -> None:
    public = builder.topology.tier(Tier.PUBLIC, vpc.name)
    apps = builder.topology.tier(Tier.APPLICATION, vpc.name)
    where = builder.vpc_label(vpc)
    builder.template.add_resource(
        ec2.SecurityGroup(
            "AlbSecurityGroup",
            GroupDescription="ALB: HTTP from the internet, HTTP to the web servers",
            VpcId=vpc_id,
            SecurityGroupIngress=[
                rule("tcp", HTTP, "0.0.0.0/0", "HTTP from the internet"),
                *rule6(builder, "tcp", HTTP, ANYWHERE6, "HTTP from the internet over IPv6"),
            ],
            SecurityGroupEgress=per_subnet(
                builder, "tcp", HTTP, apps, lambda where: f"HTTP to the web server in {where}"
            ),
            Tags=builder.tags(where, "ALB security group"),
        )
    )
    # Sources are the public subnets' blocks, where the ALB nodes live: a security group
    # reference would not match, since these packets arrive from a GWLB endpoint.
    builder.template.add_resource(
        ec2.SecurityGroup(
            "WebSecurityGroup",
            GroupDescription="Web servers: HTTP from the ALB subnets only",
            VpcId=vpc_id,
            SecurityGroupIngress=[
                *per_subnet(
                    builder, "tcp", HTTP, public, lambda where: f"HTTP from the ALB node in {where}"
                ),
                # The bastion sits in public subnet 1 (of application VPC 1 where there are
                # several); pinging the web servers from it is the seed's manual test.
                icmp_echo(builder.subnet_cidr(public[0]), "Ping from the bastion's subnet"),
                # IPv6: the bastion's HTTP and ping (the ALB reaches its targets over IPv4).
                *per_subnet6(
                    builder, "tcp", HTTP, public, lambda where: f"HTTP over IPv6 from {where}"
                ),
                *icmp6_echo(
                    builder, subnet_block(builder, public[0]), "IPv6 ping from the bastion's subnet"
                ),
            ],
            SecurityGroupEgress=[
                rule("tcp", 443, "0.0.0.0/0", "HTTPS out (via GWLB and NAT) for SSM and signals"),
                icmp_echo("0.0.0.0/0", "Ping out (via GWLB and NAT), the seed's first test"),
                *per_subnet(
                    builder,
                    "tcp",
                    HTTP,
                    public,
                    lambda where: f"HTTP to the ALB node in {where}: an in-VPC check, no ICP",
                ),
                *rule6(builder, "tcp", 443, ANYWHERE6, "HTTPS out over IPv6 (via GWLB and IGW)"),
                *icmp6_echo(builder, ANYWHERE6, "IPv6 ping out (via GWLB and IGW)"),
                *per_subnet6(
                    builder, "tcp", HTTP, public, lambda where: f"HTTP over IPv6 to {where}"
                ),
            ],
            Tags=builder.tags(where, "web server security group"),
        )
    )


def add_servers(builder: NestedBuilder, vpc: Vpc, profile, after: tuple[str, ...] = ()) -> None:
    """One web server per AZ with its outputs; `after` names what else in this template its
    first packets need."""
    where = builder.vpc_label(vpc)
    for server in builder.topology.placed(ComponentKind.WEB_SERVER, vpc.name):
        (subnet,) = server.subnets
        logical = naming.web_server_id(subnet.az)
        number = server.number
        builder.template.add_resource(
            ec2.Instance(
                logical,
                ImageId=builder.master("LinuxAmiId"),
                InstanceType=builder.master("WebInstanceType"),
                SubnetId=builder.subnet_ref(subnet),
                SecurityGroupIds=[Ref("WebSecurityGroup")],
                IamInstanceProfile=profile,
                MetadataOptions=imdsv2(),
                BlockDeviceMappings=encrypted_root(LINUX_ROOT_DEVICE),
                UserData=Base64(Sub(userdata.web_server(number, logical, where))),
                Tags=builder.tags(where, f"web server {number}"),
                CreationPolicy=CreationPolicy(
                    ResourceSignal=ResourceSignal(Count=1, Timeout="PT20M")
                ),
                DependsOn=["WebSignalPolicy", *_path_in_this_template(builder, subnet), *after],
            )
        )
        builder.output(
            naming.resource_output(logical), Ref(logical), f"Instance id of web server {number}."
        )
        builder.output(
            naming.resource_output(logical, naming.PRIVATE_IP_OUTPUT),
            GetAtt(logical, "PrivateIp"),
            f"Private IP of web server {number}.",
        )
        builder.output(
            naming.resource_output(logical, naming.SESSION_COMMAND_OUTPUT),
            Sub(f"aws ssm start-session --region ${{AWS::Region}} --target ${{{logical}}}"),
            f"Opens a Session Manager shell on web server {number}.",
        )
        local = LOCAL_PORT_BASE + number
        builder.output(
            naming.resource_output(logical, naming.PORT_FORWARD_OUTPUT),
            Sub(
                f"aws ssm start-session --region ${{AWS::Region}} --target ${{{logical}}} "
                "--document-name AWS-StartPortForwardingSession "
                f"--parameters portNumber={HTTP},localPortNumber={local}"
            ),
            f"Then open http://localhost:{local}/ to see web server {number} with no public "
            "port 80 (no ICP filing needed in China).",
        )


def _path_in_this_template(builder: NestedBuilder, subnet: Subnet) -> list[str]:
    """What a web server's first packets need when its VPC is built in the same template: the
    routes of its inspected path (its table, its AZ's endpoint subnet, the public tables' routes
    to it) and its AZ's NAT gateway. Elsewhere the master orders the stacks instead."""
    if subnet.vpc not in builder.local:
        return []
    topology = builder.topology
    needed = []
    for table in topology.route_tables:
        if table.subnet.vpc != subnet.vpc:
            continue
        for route in table.routes:
            own_table = table.subnet == subnet
            own_egress = table.subnet.tier is Tier.ENDPOINT and table.subnet.az == subnet.az
            towards = route.destination_subnet == subnet
            if own_table or own_egress or towards:
                needed.append(route_id(table, route))
    nats = topology.placed(ComponentKind.NAT_GATEWAY, subnet.vpc)
    return needed + [naming.nat_id(nat.subnets[0].az) for nat in nats if nat.az == subnet.az]


def add_load_balancer(
    builder: NestedBuilder, vpc: Vpc, vpc_id, targets: list, target_type: str
) -> None:
    """The internet-facing ALB of `vpc` (its AlbSecurityGroup must exist), forwarding HTTP to
    `targets`: instances in its VPC, or addresses in other VPCs (target type ip)."""
    template = builder.template
    alb = builder.topology.one(ComponentKind.ALB, vpc.name)
    where = builder.vpc_label(vpc)
    template.add_resource(
        elb.LoadBalancer(
            "ApplicationLoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=[builder.subnet_ref(s) for s in alb.subnets],
            SecurityGroups=[Ref("AlbSecurityGroup")],
            **ip_address_type(builder),
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(
                    Key="routing.http.drop_invalid_header_fields.enabled", Value="true"
                )
            ],
            Tags=builder.tags(where, "ALB"),
            # An internet-facing ALB is refused in a VPC whose gateway is not attached yet.
            **({"DependsOn": ["InternetGatewayAttachment"]} if vpc.name in builder.local else {}),
        )
    )
    template.add_resource(
        elb.TargetGroup(
            "WebTargetGroup",
            Protocol="HTTP",
            Port=HTTP,
            VpcId=vpc_id,
            TargetType=target_type,
            HealthCheckPath="/",
            Targets=targets,
            Tags=builder.tags(where, "web target group"),
        )
    )
    template.add_resource(
        elb.Listener(
            "HttpListener",
            LoadBalancerArn=Ref("ApplicationLoadBalancer"),
            Port=HTTP,
            Protocol="HTTP",
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref("WebTargetGroup"))],
        )
    )
    builder.output(
        naming.ALB_URL_OUTPUT,
        Sub("http://${ApplicationLoadBalancer.DNSName}/"),
        "Open this: each reload answers 'web server N' through the GWLB. In China, port 80 "
        "of an internet-facing ALB answers only once the account has an ICP filing; until "
        "then use a WebServer<N>PortForwardCommand output.",
    )
