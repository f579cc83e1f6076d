"""Security groups without namespaces: which group stops a packet, and the stateful nftables
ruleset a host gets (default drop, replies pass)."""

from lab import security
from verify.model import SecurityGroup, SetModel, SgRule


def test_security_group_verdicts():
    spec = SetModel()
    web = SecurityGroup(
        "S/Web",
        "Web",
        (SgRule(6, 80, 80, "10.0.0.0/24", None),),
        (SgRule(6, 443, 443, "0.0.0.0/0", None), SgRule(1, 8, -1, "0.0.0.0/0", None)),
    )
    peer = SecurityGroup("S/Peer", "Peer", (SgRule(17, 53, 53, None, "S/Web"),), ())
    spec.security_groups = {"S/Web": web, "S/Peer": peer}

    def members(group):
        return {"10.0.6.10"} if group == "S/Web" else set()

    def verdict(src, src_ip, dst, dst_ip, proto, port):
        return security.verdict(spec, members, src, src_ip, dst, dst_ip, proto, port)

    assert verdict(("S/Web",), "10.0.6.10", (), "198.19.255.20", 6, 443) == ""
    assert verdict(("S/Web",), "10.0.6.10", (), "198.19.255.20", 1, 8) == ""
    assert verdict(("S/Web",), "10.0.6.10", (), "198.19.255.20", 6, 80) == (
        "Web: no tcp/80 out to 198.19.255.20"
    )
    assert verdict(("S/Web",), "10.0.6.10", (), "198.19.255.20", 1, 13) != ""  # not echo
    assert verdict((), "10.0.0.20", ("S/Web",), "10.0.6.10", 6, 80) == ""
    assert verdict((), "10.0.1.20", ("S/Web",), "10.0.6.10", 6, 80) == (
        "Web: no tcp/80 in from 10.0.1.20"
    )
    # A rule naming a group admits that group's members only; no egress rules, nothing out.
    assert verdict((), "10.0.6.10", ("S/Peer",), "10.0.9.9", 17, 53) == ""
    assert verdict((), "10.0.6.11", ("S/Peer",), "10.0.9.9", 17, 53) != ""
    assert verdict(("S/Peer",), "10.0.9.9", (), "10.0.6.10", 17, 53) != ""


def test_security_group_ruleset_is_stateful_and_default_drop():
    rule = SgRule(6, 80, 80, "10.0.0.0/24", None)
    icmp = SgRule(1, 8, -1, "0.0.0.0/0", None)
    by_group = SgRule(17, 6081, 6081, None, "G/Peers")
    group = SecurityGroup("G/Sg", "Sg", (rule, by_group), (icmp,))
    text = security.ruleset([group], lambda g: {"10.0.4.5", "10.0.5.5"})
    assert text.count("policy drop;") == 2
    assert text.count("ct state established,related accept") == 2
    assert "ip saddr 10.0.0.0/24 meta l4proto tcp tcp dport 80-80 accept" in text
    assert "ip saddr { 10.0.4.5, 10.0.5.5 } meta l4proto udp udp dport 6081-6081 accept" in text
    assert "ip daddr 0.0.0.0/0 meta l4proto icmp icmp type 8 accept" in text


def test_the_ipv6_table_holds_the_groups_ipv6_rules_only_and_lets_neighbour_discovery_pass():
    v4 = SgRule(6, 80, 80, "10.0.0.0/24", None)
    v6 = SgRule(6, 80, 80, "2001:db8:0:4::/64", None)
    ping4 = SgRule(1, 8, -1, "0.0.0.0/0", None)
    ping6 = SgRule(58, 128, -1, "::/0", None)
    by_group = SgRule(17, 53, 53, None, "G/Peers")
    group = SecurityGroup("G/Sg", "Sg", (v4, v6, by_group), (ping4, ping6))
    text = security.ruleset([group], lambda g: {"2001:db8:0:5::5"}, version=6)
    assert text.startswith("table ip6 security_groups6 {")
    assert text.count("policy drop;") == 2 and text.count("nd-neighbor-solicit") == 2
    assert "ip6 saddr 2001:db8:0:4::/64 meta l4proto tcp tcp dport 80-80 accept" in text
    assert "ip6 saddr { 2001:db8:0:5::5 } meta l4proto udp udp dport 53-53 accept" in text
    assert "ip6 daddr ::/0 meta l4proto icmpv6 icmpv6 type 128 accept" in text
    assert "10.0.0.0/24" not in text and "0.0.0.0/0" not in text
    assert " icmp " not in text
