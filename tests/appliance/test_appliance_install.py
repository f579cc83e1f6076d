"""The install material the generator embeds: the systemd unit (least privilege, checked by
systemd 252 itself and by running the appliance with only its capabilities), the default
policy, and the user data budget."""

import ast
import configparser
import ipaddress
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from scapy.all import IP, UDP, raw

from appliance import policy
from lab import geneve, netns

INSTALL = Path(__file__).resolve().parents[2] / "appliance" / "install"
UNIT = INSTALL / "gwlb-appliance.service"
# Start-up needs these two (raw sockets, port 80); the appliance drops both once they are open.
CAPS = {"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
# The appliance's user data (cloud-config with the gzip+base64 bundle), as EC2 sees it, must
# stay at or under this: 0.75 KiB below EC2's 16 KiB, room for what comes next (it was 1 KiB
# until dual-stack: the IPv6 ping rule, and in single-vpc the VPC's /56 in the policy).
USER_DATA_BUDGET = 16 * 1024 - 768


def service():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string(UNIT.read_text())
    return unit


def test_unit_runs_the_appliance_as_the_generator_expects():
    unit = service()
    svc = unit["Service"]
    assert svc["ExecStart"].startswith("/usr/bin/python3 -m appliance ")
    assert "--policy /etc/gwlb-appliance/policy.json" in svc["ExecStart"]
    assert "--flow-log /var/log/gwlb-appliance/flows.log" in svc["ExecStart"]
    assert svc["WorkingDirectory"] == "/opt/gwlb-appliance"
    assert (svc["Restart"], svc["LogsDirectory"]) == ("always", "gwlb-appliance")
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_is_least_privilege():
    svc = service()["Service"]
    assert "User" not in svc and svc["DynamicUser"] == "yes"
    assert set(svc["AmbientCapabilities"].split()) == CAPS
    assert set(svc["CapabilityBoundingSet"].split()) == CAPS
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert svc[key] == value, key
    assert svc["MemoryMax"].endswith("%") or svc["MemoryMax"][:-1].isdigit()


def test_systemd_252_knows_every_directive(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("needs systemd-analyze (systemd 252, as on Amazon Linux 2023)")
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text())
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [x for x in (out.stdout + out.stderr).splitlines() if UNIT.name in x]
    assert out.returncode == 0 and problems == [], problems


def capability_sets(pid):
    """CapEff, CapPrm and CapAmb of a process, as the kernel reports them."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    sets = dict(x.split(":\t") for x in lines if x.startswith(("CapEff", "CapPrm", "CapAmb")))
    return {k: int(v, 16) for k, v in sets.items()}


def loadable_copy(python, prefix, tmp):
    """(interpreter, prefix) that user 65534 can run: `python` itself, or, when its install
    lies where nobody may not read (pyenv's under /root), a hard-linked copy of that install in
    tmp (same file system: instant, no space) with LD_LIBRARY_PATH at its lib (the binary's
    RUNPATH names the unreadable one). None when neither runs."""
    home = Path(python).resolve().parents[1]
    candidates = [(python, prefix)]
    if Path(tmp).stat().st_dev == home.stat().st_dev:
        copy = Path(tmp) / "python"
        subprocess.run(["cp", "-al", str(home), str(copy)], check=True, timeout=120)
        Path(tmp).chmod(0o755)
        env = ("env", f"LD_LIBRARY_PATH={copy / 'lib'}")
        candidates.append((str(copy / "bin" / Path(python).resolve().name), (*prefix, *env)))
    for candidate, pre in candidates:
        probe = subprocess.run([*pre, candidate, "-c", "pass"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return candidate, pre
    return None


def test_runs_without_root_with_only_the_units_capabilities(monkeypatch):
    """As nobody, with the unit's capabilities ambient and bounding, no new privileges: binds
    port 80, sends raw, and returns a packet; after start-up the supervisor and every worker hold
    no capability at all (effective, permitted, ambient). Under run_py39.py, pyenv's 3.9 runs
    from a hard-linked copy that nobody can read."""
    why = netns.unavailable() or ("" if shutil.which("setpriv") else "needs setpriv")
    if why:
        pytest.skip(why)
    caps = ",".join("+" + c[4:].lower() for c in sorted(CAPS))
    prefix = (
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        f"--inh-caps=-all,{caps}",
        f"--ambient-caps=-all,{caps}",
        f"--bounding-set=-all,{caps}",
        "--no-new-privs",
    )
    tmp = tempfile.mkdtemp(prefix="gwlb-nobody-", dir="/tmp")
    found = loadable_copy(netns.APPLIANCE_PYTHON, prefix, tmp)
    if found is None:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"{netns.APPLIANCE_PYTHON} does not run as nobody, nor a copy of it")
    monkeypatch.setattr(netns, "APPLIANCE_PYTHON", found[0])
    prefix = found[1]
    h = netns.Harness("u").up()
    proc = None
    try:
        proc = h.start_appliance(
            "--workers", "2", "--allow-all", "--flow-log", "-", health_port=80, prefix=prefix,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        pids = [proc.pid, *netns.children(proc.pid)]
        assert len(pids) == 3  # the supervisor and two workers
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text()
            uid = [x for x in status.splitlines() if x.startswith("Uid:")][0]
            assert uid.split()[1:3] == ["65534", "65534"]
            assert capability_sets(pid) == {"CapEff": 0, "CapPrm": 0, "CapAmb": 0}, pid
        rx, tx = h.udp(h.gw_ns, 6081), h.udp(h.gw_ns)
        pkt = geneve.build(
            raw(IP(src="10.0.0.1", dst="198.18.0.1") / UDP(sport=1, dport=2)),
            0x0800,
            geneve.aws_options(1, 2, 3),
        )
        got = None
        for _ in range(5):
            tx.sendto(pkt, (h.app_ip, 6081))
            try:
                got = rx.recv(65535)
                break
            except OSError:
                time.sleep(0.2)
        assert got == pkt
        assert h.http_get(80, "/health") == (200, "ok\n")
    finally:
        if proc is not None:
            netns.stop(proc)
        h.down()
        shutil.rmtree(tmp, ignore_errors=True)


def test_default_policy_is_the_safe_one():
    """Drops by default; lets the inside out, the ALB and the bastion reach the web servers
    (HTTP, ping) within the VPC, and nothing from outside in."""
    pol = policy.load(str(INSTALL / "policy.json"))
    web, alb, out = b"\x0a\x00\x06\x0a", b"\x0a\x00\x00\x0b", bytes([93, 184, 216, 34])
    assert pol.default == "drop"
    assert pol.decide(4, 6, web, out, 443)[0] == "allow"  # outbound HTTPS (SSM, signals)
    assert pol.decide(4, 1, web, out, 0)[0] == "allow"  # ping out
    assert pol.decide(4, 6, alb, web, 80)[0] == "allow"  # ALB (or bastion) to web
    assert pol.decide(4, 1, alb, web, 0)[0] == "allow"  # the bastion's ping
    for proto, port in ((6, 80), (6, 22), (17, 53), (1, 0)):
        assert pol.decide(4, proto, out, web, port)[0] == "drop"  # nothing opens from outside
    assert pol.decide(4, 6, alb, web, 22)[0] == "drop"


def test_default_policy_with_the_vpcs_ipv6_block_holds_for_ipv6():
    """Dual-stack single-vpc: the user data opens the policy with internal_cidrs = the defaults
    and the VPC's /56, so IPv6 is judged as IPv4 is: out and in-VPC HTTP and ping pass,
    nothing opens from outside."""
    text = (INSTALL / "policy.json").read_text()
    head = '"internal_cidrs":' + json.dumps([*policy.INTERNAL, "2001:db8:100::/56"]) + ","
    pol = policy.parse(("{" + head + text.strip()[1:]).encode())
    v6 = ipaddress.IPv6Address
    web, bastion = v6("2001:db8:100:6::a").packed, v6("2001:db8:100::1e").packed
    out = v6("2600:1f18::7").packed
    assert pol.decide(6, 6, web, out, 443)[0] == "allow"
    assert pol.decide(6, 58, web, out, 0)[0] == "allow"  # ICMPv6 echo out
    assert pol.decide(6, 6, bastion, web, 80)[0] == "allow"
    assert pol.decide(6, 58, bastion, web, 0)[0] == "allow"
    for proto, port in ((6, 80), (6, 22), (17, 53), (58, 0)):
        assert pol.decide(6, proto, out, web, port)[0] == "drop"


def test_user_data_stays_within_budget():
    """Measured as EC2 sees it: after CloudFormation substituted the longest stack name (128
    characters) and region name it may."""
    userdata = pytest.importorskip("generator.userdata", reason="the generator needs its venv")
    text = userdata.appliance("ApplianceGroup")
    longest = {
        "${AWS::StackName}": "s" * 128,
        "${AWS::Region}": "ap-southeast-7",
        "${FlowIdleTimeout}": "6000",  # the listener's longest timeout, also --tcp-idle's
    }
    for name, value in longest.items():
        text = text.replace(name, value)
    assert "${" not in text
    size = len(text.encode())
    assert size <= USER_DATA_BUDGET, f"appliance user data is {size} bytes"


def test_user_data_unpacks_the_modules_with_its_own_command(tmp_path):
    """The rendered user data's runcmd entry, run as written (paths moved under tmp_path),
    writes every module; each parses to the tree of the module, minified; the text is base93
    with no "${" for Fn::Sub."""
    userdata = pytest.importorskip("generator.userdata", reason="the generator needs its venv")
    yaml = pytest.importorskip("yaml")
    from generator import bundle

    doc = yaml.safe_load(userdata.appliance("ApplianceGroup"))
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    text = files[bundle.ENCODED_PATH]
    assert set(text.strip()) <= set(bundle.DIGITS) and "${" not in text
    (tmp_path / "text").write_text(text)
    [cmd] = [c for c in doc["runcmd"] if c[:2] == ["python3", "-c"]]
    assert cmd[3:] == [bundle.ENCODED_PATH, bundle.INSTALL_ROOT]
    subprocess.run(
        [sys.executable, "-c", cmd[2], str(tmp_path / "text"), str(tmp_path)], check=True
    )
    shipped = {p.name: p.read_text() for p in (tmp_path / "appliance").glob("*.py")}
    sources = sorted(INSTALL.parent.glob("*.py"))
    assert sorted(shipped) == [m.name for m in sources]
    for m in sources:
        assert ast.dump(ast.parse(shipped[m.name])) == ast.dump(
            ast.parse(bundle.minify(m.read_text()))
        )
