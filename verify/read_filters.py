"""The set reader's part for traffic filters: security groups with their separate ingress and
egress rules, and network ACLs with their entries and subnet associations."""

from __future__ import annotations

from verify.evaluate import Unresolved
from verify.model import NaclEntry, NetworkAcl, SecurityGroup, SgRule
from verify.read_context import ReadContext

PROTOCOLS = {"-1": -1, "all": -1, "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def _sg_rule(p: dict) -> SgRule:
    proto = str(p.get("IpProtocol", "-1")).lower()
    number = PROTOCOLS[proto] if proto in PROTOCOLS else int(proto)
    group = p.get("SourceSecurityGroupId") or p.get("DestinationSecurityGroupId")
    cidr = p.get("CidrIp") or p.get("CidrIpv6")
    if isinstance(cidr, Unresolved):
        cidr = None  # a required parameter with no value: the rule admits no one we can name
    return SgRule(number, int(p.get("FromPort", -1)), int(p.get("ToPort", -1)), cidr, group)


def security_groups(reader: ReadContext) -> None:
    """Groups with their inline rules and the separate ingress and egress resources."""
    extra: dict[str, dict[str, list[SgRule]]] = {}
    for kind, way in (("Ingress", "ingress"), ("Egress", "egress")):
        for *_, p in reader.each(f"AWS::EC2::SecurityGroup{kind}"):
            extra.setdefault(reader.ident(p, "GroupId"), {}).setdefault(way, []).append(_sg_rule(p))
    for logical, rid, p in reader.each("AWS::EC2::SecurityGroup"):
        more = extra.get(rid, {})
        ingress = [_sg_rule(r) for r in p.get("SecurityGroupIngress", [])]
        if "SecurityGroupEgress" in p:
            egress = [_sg_rule(r) for r in p["SecurityGroupEgress"]]
        else:  # AWS's default: everything out
            egress = [SgRule(-1, -1, -1, "0.0.0.0/0", None)]
        reader.model.security_groups[rid] = SecurityGroup(
            rid,
            logical,
            tuple(ingress + more.get("ingress", [])),
            tuple(egress + more.get("egress", [])),
        )


def network_acls(reader: ReadContext) -> None:
    """ACLs with their entries in rule order, and which subnet each is associated with."""
    entries: dict[str, list[NaclEntry]] = {}
    for _, _, p in reader.each("AWS::EC2::NetworkAclEntry"):
        proto = str(p.get("Protocol", "-1")).lower()
        ports = p.get("PortRange") or {}
        icmp = p.get("Icmp") or {}
        egress = p.get("Egress") in (True, "true", "True")
        cidr = p.get("CidrBlock") or p.get("Ipv6CidrBlock")
        entries.setdefault(reader.ident(p, "NetworkAclId"), []).append(
            NaclEntry(
                int(p["RuleNumber"]),
                egress,
                str(p.get("RuleAction", "")).lower() == "allow",
                PROTOCOLS[proto] if proto in PROTOCOLS else int(proto),
                None if isinstance(cidr, Unresolved) else cidr,
                int(ports.get("From", -1)),
                int(ports.get("To", -1)),
                int(icmp.get("Type", -1)),
                int(icmp.get("Code", -1)),
            )
        )
    for logical, rid, p in reader.each("AWS::EC2::NetworkAcl"):
        ordered = tuple(sorted(entries.get(rid, []), key=lambda e: (e.egress, e.number)))
        reader.model.network_acls[rid] = NetworkAcl(rid, logical, p.get("VpcId"), ordered)
    for _, _, p in reader.each("AWS::EC2::SubnetNetworkAclAssociation"):
        reader.model.acl_of_subnet[reader.ident(p, "SubnetId")] = reader.ident(p, "NetworkAclId")
