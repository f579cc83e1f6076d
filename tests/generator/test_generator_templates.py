"""Properties of the rendered templates: cfn-lint clean in all three regions, no partition
literals, nested inputs without defaults, security settings, readiness and parallel creation."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.set_helpers import ALL_SETS, COMMITTED, REPO, SETS, load_set, resources

ALL_FILES = sorted(COMMITTED.rglob("*.yml"))


@pytest.mark.slow
def test_cfn_lint_finds_nothing_in_any_region():
    # .cfnlintrc sets the regions (us-east-1, cn-north-1, cn-northwest-1), informational rules,
    # and the one ignored check with its reason.
    assert ALL_FILES, "output/ is empty: run make templates"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", *map(str, ALL_FILES)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfnlintrc_covers_the_three_regions_and_informational_rules():
    text = (REPO / ".cfnlintrc").read_text()
    for region in ("us-east-1", "cn-north-1", "cn-northwest-1"):
        assert f"- {region}" in text
    assert "include_checks:\n  - I" in text


REGION = re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx|cn)-(north|south|east|west|central)\w*-\d\b")
AZ = re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx|cn)-[a-z]+-\d[a-z]\b")


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(COMMITTED)))
def test_no_partition_region_or_az_literals(path):
    text = path.read_text()
    for literal in ("arn:aws:", "arn:aws-cn:", "amazonaws.com"):
        assert literal not in text
    assert not REGION.search(text), REGION.search(text)
    assert not AZ.search(text), AZ.search(text)


def test_the_literal_scan_would_see_a_literal():
    assert REGION.search("arn:${AWS::Partition}:s3:::x-cn-northwest-1")
    assert AZ.search("AvailabilityZone: us-east-1a")


@pytest.mark.parametrize(
    ("partition", "prefix"), [("aws", "com.amazonaws.vpce."), ("aws-cn", "cn.com.amazonaws.vpce.")]
)
def test_endpoint_service_name_per_partition(partition, prefix):
    body = load_set(COMMITTED / partition / "single-vpc")["Nested-GWLB.yml"]
    endpoints = resources(body, "AWS::EC2::VPCEndpoint")
    assert len(endpoints) == 2
    for ep in endpoints.values():
        assert ep["Properties"]["VpcEndpointType"] == "GatewayLoadBalancer"
        name = ep["Properties"]["ServiceName"]["Fn::Sub"]
        assert name == prefix + "${AWS::Region}.${EndpointService}"


@pytest.mark.parametrize("architecture", ["single-vpc", "separated-vpc"])
def test_the_partitions_differ_only_in_the_endpoint_service_prefix_and_the_title(architecture):
    for path in sorted((COMMITTED / "aws" / architecture).glob("*.yml")):
        aws = path.read_text()
        cn = (COMMITTED / "aws-cn" / architecture / path.name).read_text()
        cn = cn.replace("cn.com.amazonaws.vpce", "com.amazonaws.vpce")
        assert cn.replace("aws-cn partition", "aws partition") == aws, path.name


@pytest.mark.parametrize(("partition", "architecture"), SETS)
def test_parameters(partition, architecture):
    templates = load_set(COMMITTED / partition / architecture)
    master = templates["CN-GWLB.yml"]
    params = master["Parameters"]
    for required in ("KeyPairName", "BastionAllowedCidr"):
        assert "Default" not in params[required]
    assert set(params) - {"KeyPairName", "BastionAllowedCidr"} <= {
        k for k, p in params.items() if "Default" in p
    }
    cidr_params = [k for k in params if k.endswith("Cidr")]
    assert len(cidr_params) == 1 + 8 + 1  # VPC, 4 tiers x 2 AZs, bastion source
    for name in cidr_params:
        pattern = re.compile(params[name]["AllowedPattern"])
        assert pattern.match("10.0.0.0/16") and not pattern.match("10.0.0/16")
        assert not pattern.match("10.0.0.0/33") and not pattern.match("256.0.0.0/8")
    interface = master["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = {p for g in interface["ParameterGroups"] for p in g["Parameters"]}
    assert grouped == set(params)
    assert set(interface["ParameterLabels"]) == set(params)
    # Nested templates never carry defaults, so the master's values always win.
    for name, body in templates.items():
        for pname, p in body.get("Parameters", {}).items():
            if name != "CN-GWLB.yml":
                assert "Default" not in p, (name, pname)
    # Every CIDR is handed down to each nested stack that declares it.
    for stack in resources(master, "AWS::CloudFormation::Stack").values():
        nested = templates[stack["Properties"]["TemplateURL"]]
        passed = stack["Properties"]["Parameters"]
        assert set(passed) == set(nested.get("Parameters", {}))
        for pname in passed:
            if pname.endswith("Cidr"):
                assert passed[pname] == {"Ref": pname}


def test_every_output_is_described_and_the_master_gives_what_users_need():
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    for body in templates.values():
        for name, out in body.get("Outputs", {}).items():
            assert out.get("Description"), name
    outputs = templates["CN-GWLB.yml"]["Outputs"]
    for name in (
        "AlbUrl",
        "BastionPublicIp",
        "BastionInstanceId",
        "WebServer1Id",
        "WebServer2PrivateIp",
        "WebServer1SessionCommand",
        "BastionSessionCommand",
        "ApplianceListCommand",
    ):
        assert name in outputs


def test_nested_stacks_wait_only_where_data_or_readiness_flows():
    master = load_set(COMMITTED / "aws" / "single-vpc")["CN-GWLB.yml"]
    stacks = resources(master, "AWS::CloudFormation::Stack")
    needs = {}
    for name, stack in stacks.items():
        refs = {
            v["Fn::GetAtt"][0]
            for v in stack["Properties"]["Parameters"].values()
            if isinstance(v, dict) and "Fn::GetAtt" in v
        }
        needs[name] = refs | set(stack.get("DependsOn", []))
    assert needs["SSMRoleStack"] == set() and needs["NetworkStack"] == set()
    assert needs["GWLBStack"] == {"NetworkStack"}
    assert needs["InspectionRoutesStack"] == {"NetworkStack", "GWLBStack"}
    assert needs["AppliancesStack"] == {"NetworkStack", "GWLBStack", "SSMRoleStack"}
    assert needs["BastionStack"] == {"NetworkStack", "SSMRoleStack"}
    assert needs["WebStack"] == {
        "NetworkStack",
        "SSMRoleStack",
        "InspectionRoutesStack",
        "AppliancesStack",
    }


def _instances(templates):
    out = {}
    for body in templates.values():
        for logical, res in body["Resources"].items():
            if res["Type"] == "AWS::EC2::Instance":
                out[logical] = res["Properties"]
            elif res["Type"] == "AWS::EC2::LaunchTemplate":
                out[logical] = res["Properties"]["LaunchTemplateData"]
    return out


def test_every_instance_requires_imdsv2_encrypts_ebs_and_has_the_ssm_profile():
    templates = load_set(COMMITTED / "aws-cn" / "single-vpc")
    instances = _instances(templates)
    assert set(instances) == {"ApplianceLaunchTemplate", "WebServer1", "WebServer2", "Bastion"}
    kinds = {"ApplianceLaunchTemplate": "Appliance", "Bastion": "Bastion"}
    for name, props in instances.items():
        assert props["MetadataOptions"]["HttpTokens"] == "required", name
        assert all(m["Ebs"]["Encrypted"] is True for m in props["BlockDeviceMappings"]), name
        assert all(m["Ebs"]["VolumeType"] == "gp3" for m in props["BlockDeviceMappings"]), name
        profile = f"{kinds.get(name, 'Web')}InstanceProfileName"
        assert props["IamInstanceProfile"] in ({"Ref": profile}, {"Name": {"Ref": profile}})
    # The appliance's flow log rotates within a disk whose size the template states.
    (root,) = instances["ApplianceLaunchTemplate"]["BlockDeviceMappings"]
    assert root["Ebs"]["VolumeSize"] == 16
    roles = resources(templates["Nested-SSMRole.yml"], "AWS::IAM::Role")
    assert set(roles) == {"ApplianceRole", "WebRole", "BastionRole"}
    for role in roles.values():
        assert role["Properties"]["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
        ]
        assert "Policies" not in role["Properties"]


def test_only_signalling_instances_may_signal_and_only_their_own_stack():
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    master = templates["CN-GWLB.yml"]
    grants = {}  # role output name -> stacks whose resources it may signal
    for file, body in templates.items():
        for policy in resources(body, "AWS::IAM::Policy").values():
            (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
            assert statement["Action"] == "cloudformation:SignalResource"
            # The stack's own id: no wildcard, no other stack.
            assert statement["Resource"] == {"Ref": "AWS::StackId"}, file
            (role,) = policy["Properties"]["Roles"]
            stack = next(
                s
                for s in resources(master, "AWS::CloudFormation::Stack").values()
                if s["Properties"]["TemplateURL"] == file
            )
            source = stack["Properties"]["Parameters"][role["Ref"]]
            assert source["Fn::GetAtt"] == ["SSMRoleStack", f"Outputs.{role['Ref']}"]
            grants.setdefault(role["Ref"], set()).add(file)
    assert grants == {
        "ApplianceRoleName": {"Nested-Appliances.yml"},
        "WebRoleName": {"Nested-Web.yml"},
    }
    # Each signalled resource waits for its grant, and lives in the stack the grant names.
    for file, logical in (
        ("Nested-Appliances.yml", "ApplianceGroup"),
        ("Nested-Web.yml", "WebServer1"),
        ("Nested-Web.yml", "WebServer2"),
    ):
        resource = templates[file]["Resources"][logical]
        assert "CreationPolicy" in resource
        assert any(d.endswith("SignalPolicy") for d in resource["DependsOn"])
    text = "".join(p.read_text() for p in (COMMITTED / "aws" / "single-vpc").glob("*.yml"))
    assert ":stack/" not in text  # the old wildcard grant on stack/<root>-*/*


def _rules(body, group):
    """The IPv4 rules; the IPv6 ones exist only with dualstack (tests/generator/test_ipv6.py)."""
    props = body["Resources"][group]["Properties"]
    simplify = lambda r: (r["IpProtocol"], r["FromPort"], r["ToPort"], str(r["CidrIp"]))  # noqa: E731
    ingress = [r for r in props["SecurityGroupIngress"] if "Fn::If" not in r]
    egress = [r for r in props["SecurityGroupEgress"] if "Fn::If" not in r]
    for rule in ingress + egress:
        assert rule["Description"]
    return sorted(map(simplify, ingress)), sorted(map(simplify, egress))


def test_security_groups_are_minimal():
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    ref = lambda name: str({"Ref": name})  # noqa: E731
    ingress, _ = _rules(templates["Nested-Appliances.yml"], "ApplianceSecurityGroup")
    assert ingress == sorted(
        [
            ("udp", 6081, 6081, ref("ApplianceSubnet1Cidr")),
            ("udp", 6081, 6081, ref("ApplianceSubnet2Cidr")),
            # Health checks come from the GWLB's nodes, in the appliance subnets only.
            ("tcp", 80, 80, ref("ApplianceSubnet1Cidr")),
            ("tcp", 80, 80, ref("ApplianceSubnet2Cidr")),
        ]
    )
    ingress, egress = _rules(templates["Nested-Web.yml"], "WebSecurityGroup")
    alb_nodes = [
        ("tcp", 80, 80, ref("PublicSubnet1Cidr")),
        ("tcp", 80, 80, ref("PublicSubnet2Cidr")),
    ]
    assert ingress == sorted([*alb_nodes, ("icmp", 8, -1, ref("PublicSubnet1Cidr"))])
    # HTTPS and ping out (the seed's test plan), HTTP to the ALB nodes (the no-ICP check).
    anywhere = [("tcp", 443, 443, "0.0.0.0/0"), ("icmp", 8, -1, "0.0.0.0/0")]
    assert egress == sorted(anywhere + alb_nodes)
    ingress, egress = _rules(templates["Nested-Bastion.yml"], "BastionSecurityGroup")
    assert ingress == [("tcp", 3389, 3389, ref("BastionAllowedCidr"))]
    apps = [ref("ApplicationSubnet1Cidr"), ref("ApplicationSubnet2Cidr")]
    assert egress == sorted(
        [("tcp", 443, 443, "0.0.0.0/0")]
        + [("icmp", 8, -1, a) for a in apps]
        + [("tcp", 80, 80, a) for a in apps]
    )


def test_gwlb_target_group_checks_the_appliance_health_endpoint():
    body = load_set(COMMITTED / "aws" / "single-vpc")["Nested-GWLB.yml"]
    (tg,) = resources(body, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    p = tg["Properties"]
    assert (p["Protocol"], p["Port"]) == ("GENEVE", 6081)
    assert (p["HealthCheckProtocol"], p["HealthCheckPort"], p["HealthCheckPath"]) == (
        "HTTP",
        "80",
        "/health",
    )
    (lb,) = resources(body, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attrs = {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}
    assert attrs["load_balancing.cross_zone.enabled"] == "true"


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_flows_of_a_failed_appliance_move_to_a_healthy_one(partition, architecture):
    body = load_set(COMMITTED / partition / architecture)["Nested-GWLB.yml"]
    (tg,) = resources(body, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    attrs = {a["Key"]: a["Value"] for a in tg["Properties"]["TargetGroupAttributes"]}
    # AWS accepts the two only with the same value.
    assert attrs["target_failover.on_unhealthy"] == "rebalance"
    assert attrs["target_failover.on_deregistration"] == "rebalance"


def test_the_alb_drops_invalid_header_fields():
    body = load_set(COMMITTED / "aws-cn" / "single-vpc")["Nested-Web.yml"]
    (lb,) = resources(body, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attrs = {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_china_notes_where_users_meet_them():
    templates = load_set(COMMITTED / "aws-cn" / "single-vpc")
    master = templates["CN-GWLB.yml"]
    assert "RSA" in master["Parameters"]["KeyPairName"]["Description"]
    assert "ICP" in master["Outputs"]["AlbUrl"]["Description"]
    for n in (1, 2):
        out = master["Outputs"][f"WebServer{n}PortForwardCommand"]
        command = out["Value"]["Fn::GetAtt"]
        assert command == ["WebStack", f"Outputs.WebServer{n}PortForwardCommand"]
        nested = templates["Nested-Web.yml"]["Outputs"][f"WebServer{n}PortForwardCommand"]
        text = nested["Value"]["Fn::Sub"]
        assert "--document-name AWS-StartPortForwardingSession " in text
        assert f"--target ${{WebServer{n}}}" in text and "portNumber=80," in text
        assert f"localhost:{8080 + n}" in out["Description"]
        assert f"localPortNumber={8080 + n}" in text


def test_readiness_signals_gate_creation():
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    group = templates["Nested-Appliances.yml"]["Resources"]["ApplianceGroup"]
    # As many signals as appliances started, and a rolling update waits for them too.
    desired = group["Properties"]["DesiredCapacity"]
    assert (
        group["CreationPolicy"]["ResourceSignal"]["Count"]
        == desired
        == {"Ref": "ApplianceDesiredSize"}
    )
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["MinInstancesInService"] == group["Properties"]["MinSize"]
    assert group["Properties"]["HealthCheckType"] == "ELB"
    for n in (1, 2):
        web = templates["Nested-Web.yml"]["Resources"][f"WebServer{n}"]
        assert web["CreationPolicy"]["ResourceSignal"]["Count"] == 1
