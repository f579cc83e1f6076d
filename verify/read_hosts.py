"""The set reader's part for hosts: single instances and Auto Scaling groups expanded into their
members, with what each owes CloudFormation (a signal) and whether it carries a profile."""

from __future__ import annotations

from core import naming
from verify.errors import SetError
from verify.model import Group, Host
from verify.read_context import ReadContext


def hosts(reader: ReadContext) -> None:
    """Instances, and each Auto Scaling group's members spread over its subnets."""
    model = reader.model
    eip_instances = {p["InstanceId"] for *_, p in reader.each("AWS::EC2::EIP") if "InstanceId" in p}
    web_targets = {t for alb in model.albs.values() for t, _ in alb.targets}
    for logical, rid, p in reader.each("AWS::EC2::Instance"):
        waits = _waits(reader.stack_of(rid).resources[logical])
        model.hosts[rid] = Host(
            rid,
            model.label(rid),
            reader.ident(p, "SubnetId"),
            "web" if rid in web_targets else "other",
            str(p.get("UserData", "")),
            rid in eip_instances,
            tuple(p.get("SecurityGroupIds", [])),
            signals=waits or _signals(p.get("UserData")),
            profile=bool(p.get("IamInstanceProfile")),
        )
    geneve = {t for t, g in model.target_groups.items() if g.protocol == "GENEVE"}
    for logical, rid, p in reader.each("AWS::AutoScaling::AutoScalingGroup"):
        subnets = reader.idents(p, "VPCZoneIdentifier")
        tgs = reader.idents(p, "TargetGroupARNs")
        if not subnets:
            raise SetError(f"{reader.where}: VPCZoneIdentifier names no subnet")
        count = int(p.get("DesiredCapacity", p.get("MinSize", 1)))
        model.groups[rid] = Group(
            rid,
            logical,
            subnets,
            tgs,
            count,
            int(p.get("MinSize", 0)),
            int(p.get("MaxSize", 0)),
        )
        template = p.get("LaunchTemplate", {}).get("LaunchTemplateId")
        if template is None:
            raise SetError(f"{reader.where}: only launch templates are modelled")
        lt_stack, lt_logical = reader.resource(template)
        data = lt_stack.props(lt_logical).get("LaunchTemplateData", {})
        role = "appliance" if geneve & set(tgs) else "other"
        for member in range(count):
            # Auto Scaling spreads instances evenly over the zones, in the listed order.
            hid = naming.group_member_ref(rid, member + 1)
            model.hosts[hid] = Host(
                hid,
                naming.group_member_label(model.label(rid), member + 1),
                subnets[member % len(subnets)],
                role,
                str(data.get("UserData", "")),
                False,
                tuple(data.get("SecurityGroupIds", [])),
                rid,
                _waits(reader.stack_of(rid).resources[logical]) or _signals(data.get("UserData")),
                bool(data.get("IamInstanceProfile")),
            )


SIGNAL_WORDS = ("cfn-signal", "signal-resource")


def _waits(resource: dict) -> bool:
    """Whether CloudFormation waits for the resource's signals (a ResourceSignal policy)."""
    policy = resource.get("CreationPolicy") or {}
    return isinstance(policy, dict) and "ResourceSignal" in policy


def _signals(user_data: object) -> bool:
    return any(word in str(user_data or "") for word in SIGNAL_WORDS)
