"""The lab's parts without namespaces: user data replay, health state, flow hashing, Geneve and
the emulator's choices (stickiness, cross-zone, failover, the 8,500-byte limit)."""

import dataclasses
import io
import socket
import struct
import tarfile
from pathlib import Path

import pytest

from lab import addresses, cloudinit, geneve
from lab.flows import FlowRecord, flow_key, parse_geneve, parse_ipv4, pick
from lab.gwlb import Emulator, Node
from lab.health import Health, Target, matches
from verify import reader

SET = Path(__file__).resolve().parents[2] / "output" / "aws" / "single-vpc"


def test_appliance_user_data_replays_under_a_root(tmp_path):
    spec = reader.load(SET)
    host = spec.hosts_of("appliance")[0]
    boot = cloudinit.parse(host.user_data)
    (unit,) = boot.enabled_units()
    assert unit.exec_start[1:3] == ("-m", "appliance")
    root = cloudinit.Root(tmp_path)
    root.install(boot)
    assert (tmp_path / "opt/gwlb-appliance/appliance/__main__.py").is_file()
    argv = root.argv(unit.exec_start, "/py")
    assert argv[0] == "/py"
    policy = argv[argv.index("--policy") + 1]
    assert policy == str(tmp_path / "etc/gwlb-appliance/policy.json")
    assert Path(policy).read_text().strip().startswith("{")
    # `python -m appliance` finds the package on PYTHONPATH or in the working directory.
    places = root.environment(unit).get("PYTHONPATH", "").split(":")
    places.append(str(root.path(unit.working_directory or "/")))
    assert any(Path(p, "appliance", "__main__.py").is_file() for p in places if p)


def test_web_user_data_says_which_web_server():
    spec = reader.load(SET)
    texts = []
    for host in sorted(spec.hosts_of("web"), key=lambda h: h.name):
        boot = cloudinit.parse(host.user_data)
        texts.append(boot.file("/var/www/html/index.html").content.decode().strip())
    assert texts == ["web server 1", "web server 2"]


def test_unsafe_archive_members_are_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    boot = cloudinit.Boot(
        files=[cloudinit.File("/a.tar", buf.getvalue(), 0o644)],
        runcmd=[["tar", "-xf", "/a.tar", "-C", "/opt/x"]],
    )
    with pytest.raises(cloudinit.BootError, match="unsafe member"):
        cloudinit.Root(tmp_path).install(boot)


def test_non_cloud_config_boots_nothing():
    assert cloudinit.parse("<powershell>x</powershell>").files == []


@pytest.mark.parametrize(
    ("matcher", "status", "ok"),
    [("200", 200, True), ("200", 204, False), ("200-399", 302, True), ("200,404", 404, True)],
)
def test_matcher(matcher, status, ok):
    assert matches(matcher, status) is ok


def test_health_follows_the_thresholds():
    h = Health(healthy_threshold=3, unhealthy_threshold=2)
    h.observe(True, 1.0)
    assert h.state == "healthy"  # a new target: one success
    h.observe(False, 2.0)
    assert h.state == "healthy"
    h.observe(False, 3.0)
    assert h.state == "unhealthy"
    h.observe(True, 4.0)
    h.observe(True, 5.0)
    assert h.state == "unhealthy"
    h.observe(True, 6.0)
    assert h.state == "healthy"
    assert h.changes == [(1.0, "healthy"), (3.0, "unhealthy"), (6.0, "healthy")]


def _ipv4(src, dst, proto, sport=0, dport=0, size=40):
    body = struct.pack("!HH", sport, dport) + b"\0" * (size - 24)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(body),
        1,
        0,
        64,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return header + body


def test_flow_key_is_the_same_both_ways_and_ports_only_for_tcp_udp():
    out = parse_ipv4(_ipv4("10.0.6.10", "198.19.255.20", 6, 40000, 80))
    back = parse_ipv4(_ipv4("198.19.255.20", "10.0.6.10", 6, 80, 40000))
    assert flow_key(*out) == flow_key(*back)
    icmp = parse_ipv4(_ipv4("10.0.6.10", "198.19.255.20", 1, 0x0800, 0x1234))
    assert icmp[1] == ("10.0.6.10", 0)
    keys = [flow_key(6, ("10.0.0.1", p), ("10.0.0.2", 80)) for p in range(200)]
    chosen = {pick(k, ["a", "b", "c"]) for k in keys}
    assert chosen == {"a", "b", "c"}  # the hash spreads flows over every target


def test_geneve_round_trip_with_the_aws_options():
    inner = _ipv4("10.0.6.10", "10.0.0.20", 17, 1, 2)
    data = geneve.build(inner, 0x0800, geneve.aws_options(7, 8, 9))
    end, options = parse_geneve(data)
    assert data[end:] == inner
    assert int.from_bytes(options[1], "big") == 7
    assert int.from_bytes(options[3], "big") == 9
    assert parse_geneve(data[:20]) is None  # options cut short
    assert parse_geneve(b"\x40" + data[1:]) is None  # version 1


def test_flow_record_symmetry():
    key = flow_key(6, ("10.0.0.1", 1), ("10.0.0.2", 2))
    rec = FlowRecord(key, ("10.0.0.1", 1))
    for d in ("out", "back"):
        rec.sent[d][("E1", "X")] += 1
        rec.returned[d][("E1", "X")] += 1
    assert rec.symmetric
    rec.sent["back"][("E2", "X")] += 1
    rec.returned["back"][("E2", "X")] += 1
    assert not rec.symmetric  # two endpoints on the way back
    only_out = FlowRecord(key, ("10.0.0.1", 1))
    only_out.sent["out"][("E1", "X")] += 1
    only_out.returned["out"][("E1", "X")] += 1
    assert not only_out.symmetric


class FakeSocket:
    def __init__(self):
        self.sent = []

    def sendto(self, data, addr):
        self.sent.append((data, addr))


@pytest.fixture
def emulator():
    spec = reader.load(SET)
    plan = addresses.plan(spec)
    em = Emulator(spec, plan, router={}, node_ns={}, scale=0.1)
    for gid, gwlb in spec.gwlbs.items():
        for sid in gwlb.subnets:
            ip = plan.nodes[f"{gid}@{sid}"].ip
            node = Node(gid, spec.subnets[sid].az, "ns", ip, FakeSocket())
            em.nodes.setdefault(gid, []).append(node)
        tg = spec.target_groups[gwlb.target_group]
        for host in spec.hosts_of("appliance"):
            health = Health(tg.health.healthy, tg.health.unhealthy)
            health.observe(True, 0.0)
            em.targets[host.id] = Target(host.id, host.name, plan.nodes[host.id].ip, "ns", health)
            em.target_ip[host.id] = plan.nodes[host.id].ip
            em.target_az[host.id] = spec.subnets[host.subnet].az
    return em


def _sent(em):
    return [(d, a) for nodes in em.nodes.values() for n in nodes for d, a in n.sock.sent]


def test_emulator_is_sticky_and_symmetric_across_endpoints(emulator):
    em = emulator
    e1, e2 = sorted(em.spec.endpoints)
    out = _ipv4("10.0.6.10", "198.19.255.20", 6, 40000, 443)
    back = _ipv4("198.19.255.20", "10.0.6.10", 6, 443, 40000)
    em.to_appliance(e1, out)
    em.to_appliance(e1, back)
    em.to_appliance(e2, out)  # cross-zone: endpoint 2 reaches the same targets
    targets = {a for _, a in _sent(em)}
    assert len(targets) == 1
    data, _ = _sent(em)[0]
    end, options = parse_geneve(data)
    assert data[end:] == out and len(options) == 3


@pytest.mark.parametrize("rebalance", [False, True])
def test_unhealthy_target_keeps_its_flows_unless_rebalance(emulator, rebalance):
    em = emulator
    gwlb = next(iter(em.spec.gwlbs.values()))
    tg = em.spec.target_groups[gwlb.target_group]
    value = "rebalance" if rebalance else "no_rebalance"
    em.spec.target_groups[tg.id] = dataclasses.replace(
        tg, attributes={**tg.attributes, "target_failover.on_unhealthy": value}
    )
    e1 = sorted(em.spec.endpoints)[0]
    packet = _ipv4("10.0.6.10", "198.19.255.20", 6, 40001, 443)
    em.to_appliance(e1, packet)
    first = _sent(em)[-1][1][0]
    victim = next(t for t in em.targets.values() if t.address == first)
    victim.health.observe(False, 1.0)
    victim.health.observe(False, 2.0)
    em.to_appliance(e1, packet)
    # no_rebalance: the flow stays (and is lost with its appliance); rebalance: it moves.
    assert (_sent(em)[-1][1][0] == first) is not rebalance
    fresh = [_ipv4("10.0.6.10", "198.19.255.20", 6, p, 443) for p in range(41000, 41020)]
    for p in fresh:
        em.to_appliance(e1, p)
    assert {a[0] for _, a in _sent(em)[-20:]} == {t.address for t in em.targets.values()} - {first}


def test_oversized_packets_are_dropped(emulator):
    em = emulator
    e1 = sorted(em.spec.endpoints)[0]
    em.to_appliance(e1, _ipv4("10.0.6.10", "10.0.0.20", 17, 1, 2, size=8501))
    assert em.drops["over_8500_bytes"] == 1
    assert _sent(em) == []
    em.to_appliance(e1, _ipv4("10.0.6.10", "10.0.0.20", 17, 1, 2, size=8500))
    assert len(_sent(em)) == 1  # exactly 8,500 bytes still passes


def test_no_healthy_target_fails_open_to_every_target(emulator):
    """AWS: with every target unhealthy, GWLB sends new flows to all targets regardless."""
    em = emulator
    e1 = sorted(em.spec.endpoints)[0]
    for target in em.targets.values():
        target.health.observe(False, 1.0)
        target.health.observe(False, 2.0)
        assert not target.health.healthy
    packets = [_ipv4("10.0.6.10", "198.19.255.20", 6, port, 443) for port in range(42000, 42030)]
    for packet in packets:
        em.to_appliance(e1, packet)
    sent_to = {address[0] for _, address in _sent(em)}
    assert sent_to == {target.address for target in em.targets.values()}
    record = em.record(6, ("10.0.6.10", 42000), ("198.19.255.20", 443))
    assert record.fail_open
    # Once one target is healthy again, new flows go to it alone and are not failed open.
    healthy = next(iter(em.targets.values()))
    healthy.health.observe(True, 3.0)
    healthy.health.observe(True, 4.0)
    assert healthy.health.healthy
    em.to_appliance(e1, _ipv4("10.0.6.10", "198.19.255.20", 6, 43000, 443))
    assert _sent(em)[-1][1][0] == healthy.address
    assert not em.record(6, ("10.0.6.10", 43000), ("198.19.255.20", 443)).fail_open


def test_only_link_settings_are_replayed_from_boot_commands():
    boot = cloudinit.parse(
        "#cloud-config\n"
        "bootcmd:\n"
        "  - [sh, -c, 'ip link set dev eth0 mtu 8500']\n"
        "  - [sh, -c, 'ip link set dev eth0 mtu 8500; curl http://169.254.169.254/']\n"
        "runcmd:\n"
        "  - [systemctl, daemon-reload]\n"
        "  - ip link set dev eth0 up > /tmp/x\n"
    )
    assert boot.network_commands() == [["sh", "-c", "ip link set dev eth0 mtu 8500"]]


@pytest.mark.parametrize("cross_zone", [False, True])
def test_cross_zone_decides_which_zones_an_endpoint_reaches(emulator, cross_zone):
    em = emulator
    gid, gwlb = next(iter(em.spec.gwlbs.items()))
    em.spec.gwlbs[gid] = dataclasses.replace(gwlb, cross_zone=cross_zone)
    e1 = sorted(em.spec.endpoints)[0]
    az = em.spec.subnets[em.spec.endpoints[e1].subnet].az
    same_zone = {
        t.address
        for hid, t in em.targets.items()
        if em.spec.subnets[em.spec.hosts[hid].subnet].az == az
    }
    for port in range(42000, 42040):
        em.to_appliance(e1, _ipv4("10.0.6.10", "198.19.255.20", 6, port, 443))
    reached = {a[0] for _, a in _sent(em)}
    assert reached == (set(em.target_ip.values()) if cross_zone else same_zone)
