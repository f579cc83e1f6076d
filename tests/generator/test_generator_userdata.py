"""User data: under EC2's 16 KB, installs the appliance from the template itself, downloads
nothing, serves 'web server N', and signals the right resource."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator import bundle
from tests.set_helpers import ALL_SETS, COMMITTED, REPO, load_set

LIMIT = 16 * 1024
# The longest values Fn::Sub may put in: a 128-character stack name and a long region name.
LONGEST = {
    "AWS::StackName": "s" * 128,
    "AWS::Region": "ap-southeast-7",
    "AWS::URLSuffix": "x" * 20,
    "VpcNumber": "10",
    "FlowIdleTimeout": "6000",
}
# The longest text an Amazon-provided /56 can take, for each VPC block the policy learns.
LONGEST_BLOCK = "2600:1f18:ffff:ff00::/56"
# Room left under EC2's limit in the committed sets: 1 KiB until dual-stack put a /56 and the
# IPv6 ping rule in the appliances' policy.
MARGIN = 768
# ... and with ten application VPCs, whose ten /56s the dual-stack policy names.
LARGEST_MARGIN = 512


def _user_data(templates, with_variables=False):
    """{logical: Fn::Sub text} of every instance's user data; with_variables: (text, variables)."""
    found = {}
    for body in templates.values():
        for logical, res in body["Resources"].items():
            props = res.get("Properties", {})
            props = props.get("LaunchTemplateData", props)
            if "UserData" in props:
                body = props["UserData"]["Fn::Base64"]["Fn::Sub"]
                text, variables = (body, {}) if isinstance(body, str) else body
                found[logical] = (text, variables) if with_variables else text
    return found


def _substitute(text, variables):
    """The text as EC2 gets it at its longest: every variable resolved with dual-stack chosen
    (a policy variable's value is Fn::If DualStack, then an Fn::Sub of VPC blocks)."""

    def value(name):
        if name in variables:
            ((condition, chosen, _),) = variables[name].values()
            assert condition == "DualStack"
            return re.sub(r"\$\{Block[0-9]+\}", LONGEST_BLOCK, chosen["Fn::Sub"][0])
        return LONGEST[name]

    return re.sub(r"\$\{([^}]+)\}", lambda m: value(m.group(1)), text)


def _sizes(templates):
    found = _user_data(templates, with_variables=True)
    return {k: len(_substitute(*v).encode()) for k, v in found.items()}


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_user_data_fits_ec2s_limit_with_room_to_spare(partition, architecture):
    sizes = _sizes(load_set(COMMITTED / partition / architecture))
    assert set(sizes) == {"ApplianceLaunchTemplate", "WebServer1", "WebServer2"}
    for logical, size in sizes.items():
        assert size <= LIMIT - MARGIN, f"{logical}: {size} bytes"


def test_ten_application_vpcs_blocks_still_fit_with_room(large):
    templates = load_set(large)
    text, variables = _user_data(templates, with_variables=True)["ApplianceLaunchTemplate"]
    policy = _substitute("${Ipv6Internal}", variables)
    assert policy.count(LONGEST_BLOCK) == 10  # one per application VPC, none missed
    size = len(_substitute(text, variables).encode())
    assert size <= LIMIT - LARGEST_MARGIN, f"{size} bytes"


def _appliance_user_data():
    return _user_data(load_set(COMMITTED / "aws" / "single-vpc"))["ApplianceLaunchTemplate"]


def _archive_members():
    """The modules the committed user data installs, unpacked by its own one-liner."""
    return {
        f"appliance/{name}": text
        for name, text in bundle.modules_in(_appliance_user_data()).items()
    }


def test_the_archive_holds_every_appliance_module_as_built_today():
    """output/ carries today's appliance: every module, minified from the checkout's source."""
    members = _archive_members()
    modules = sorted((REPO / "appliance").glob("*.py"))
    assert sorted(members) == [f"appliance/{m.name}" for m in modules]
    for module in modules:
        expected = ast.parse(bundle.minify(module.read_text()))
        shipped = ast.parse(members[f"appliance/{module.name}"])
        assert ast.dump(shipped) == ast.dump(expected), module.name


def _without_docstrings(tree):
    """Drop a leading string statement from every body; comments never reach the AST."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def test_unit_and_policy_are_installed_where_the_unit_expects_them():
    text = _appliance_user_data()
    unit = (REPO / "appliance" / "install" / "gwlb-appliance.service").read_text()
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            # The unit starts the appliance with the GWLB listener's TCP idle timeout.
            command = line.removeprefix("ExecStart=/usr/bin/python3 -m appliance")
            line = (
                f"ExecStart=/usr/bin/python3 -m appliance --tcp-idle ${{FlowIdleTimeout}}{command}"
            )
        if line.strip():
            assert line in text
    assert f"path: {bundle.UNIT_PATH}" in text and f"path: {bundle.POLICY_PATH}" in text
    assert f"path: {bundle.ENCODED_PATH}" in text
    # runcmd unpacks the modules with the one-liner it carries, before it starts the unit.
    runcmd = text.split("runcmd:", 1)[1]
    assert bundle.build().unpack in runcmd
    assert runcmd.index(bundle.build().unpack) < runcmd.index("gwlb-appliance.service")
    assert "[systemctl, enable, --now, gwlb-appliance.service]" in text
    assert "Restart=always" in unit
    assert "/etc/gwlb-appliance/policy.json" in unit


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_nothing_is_downloaded_at_boot(partition, architecture):
    for logical, text in _user_data(load_set(COMMITTED / partition / architecture)).items():
        urls = re.findall(r"https?://[^\s'\"]+", text)
        hosts = {re.match(r"https?://([^/:]+)", u).group(1) for u in urls}
        assert hosts <= {"127.0.0.1", "169.254.169.254"}, (logical, hosts)
        for word in ("github", "pip install", "pypi", "git clone", "dnf install", "yum install"):
            assert word not in text.lower(), (logical, word)


def test_web_servers_answer_their_number_and_signal_themselves():
    data = _user_data(load_set(COMMITTED / "aws-cn" / "single-vpc"))
    for n in (1, 2):
        text = data[f"WebServer{n}"]
        assert f"      web server {n}\n" in text
        assert f"--logical-resource-id WebServer{n} " in text
        assert "--stack-name ${AWS::StackName}" in text and "--region ${AWS::Region}" in text
    assert "--logical-resource-id ApplianceGroup " in data["ApplianceLaunchTemplate"]
    # The appliance signals once the GWLB has found it healthy, not when it answers itself.
    assert "curl -sf -o /dev/null 127.0.0.1/ready" in data["ApplianceLaunchTemplate"]


def test_strip_source_keeps_behaviour_and_drops_prose():
    source = '"""Module doc."""\n# comment\ndef f(x):\n    """Doc."""\n    return x * 2  # why\n'
    stripped = bundle.strip_source(source)
    assert "doc" not in stripped.lower() and "#" not in stripped
    scope = {}
    exec(compile(stripped, "m", "exec"), scope)
    assert scope["f"](21) == 42


def test_the_shipped_appliance_starts_from_the_archive_alone(tmp_path):
    """Unpack the archive as cloud-init would and run it, away from the checkout."""
    for name, text in _archive_members().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "--help"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--geneve-port", "--health-port", "--workers", "--policy", "--flow-log"):
        assert flag in result.stdout
    vermin = Path(sys.executable).parent / "vermin"
    check = subprocess.run(
        [str(vermin), "--no-tips", "--violations", "-t=3.9-", "--eval-annotations", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def _bootcmd(text: str) -> list[str]:
    """The shell lines of a cloud-config's bootcmd, parsed as cloud-init would."""
    import yaml

    config = yaml.safe_load(text)
    return [item[2] for item in config.get("bootcmd", []) if item[:2] == ["sh", "-c"]]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a network namespace")
def test_web_servers_lower_their_mtu_to_what_the_gwlb_carries():
    command, _ = _bootcmd(_user_data(load_set(COMMITTED / "aws" / "single-vpc"))["WebServer1"])
    ns = f"gwlbq-mtu-{os.getpid()}"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, text=True, timeout=20)  # noqa: E731
    run("ip", "netns", "add", ns)
    try:
        # Two interfaces at the VPC's default MTU, as an instance with a second ENI has.
        run("ip", "-n", ns, "link", "add", "ens5", "mtu", "9001", "type", "veth", "peer", "ens6")
        run("ip", "-n", ns, "link", "set", "ens6", "mtu", "9001")
        run("ip", "netns", "exec", ns, "sh", "-c", command)
        for dev, mtu in (("ens5", 8500), ("ens6", 8500), ("lo", 65536)):
            shown = run("ip", "-n", ns, "-o", "link", "show", dev).stdout
            assert f" mtu {mtu} " in shown, shown
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def _networkd_mtu(main: Path, drop_in_dirs: list[Path]) -> str:
    """MTUBytes as systemd-networkd settles it: the .network file, then every drop-in of every
    search path in file-name order, the last assignment winning (systemd.network(5))."""
    value = ""
    drop_ins = sorted((p for d in drop_in_dirs for p in d.glob("*.conf")), key=lambda p: p.name)
    for path in [main, *drop_ins]:
        section = ""
        for line in path.read_text().splitlines():
            if line.startswith("["):
                section = line.strip()
            elif section == "[Link]" and line.startswith("MTUBytes="):
                value = line.split("=", 1)[1]
    return value


def test_web_servers_keep_their_mtu_when_networkd_reloads(tmp_path):
    """amazon-ec2-net-utils writes /run/systemd/network/70-<dev>.network with MTUBytes=9001 and
    ships 80-ec2.network likewise; a `networkctl reload` would bring 9001 back without the
    drop-ins the user data writes under /etc (kept across reboots)."""
    import yaml

    text = _user_data(load_set(COMMITTED / "aws" / "single-vpc"))["WebServer1"]
    _, command = _bootcmd(text)
    etc, sysfs, run_dir = tmp_path / "etc", tmp_path / "sys", tmp_path / "run"
    for dev in ("lo", "ens5", "ens6"):
        (sysfs / dev).mkdir(parents=True)
    local = command.replace("/etc/systemd/network", str(etc)).replace("/sys/class/net", str(sysfs))
    assert local != command
    subprocess.run(["sh", "-c", local], check=True, timeout=20)
    assert sorted(p.name for p in etc.iterdir()) == ["70-ens5.network.d", "70-ens6.network.d"]
    # What ec2-net-utils generates at boot, per device, and ships for devices it has not seen.
    run_dir.mkdir()
    generated = "[Match]\nDriver=ena ixgbevf vif\n\n[Link]\nMTUBytes=9001\n"
    (run_dir / "70-ens5.network").write_text(generated)
    (run_dir / "80-ec2.network").write_text(generated)
    assert _networkd_mtu(run_dir / "70-ens5.network", []) == "9001"
    assert _networkd_mtu(run_dir / "70-ens5.network", [etc / "70-ens5.network.d"]) == "8500"
    (written,) = [f for f in yaml.safe_load(text)["write_files"] if "80-ec2.network.d" in f["path"]]
    fallback = etc / "80-ec2.network.d"
    fallback.mkdir()
    (fallback / Path(written["path"]).name).write_text(written["content"])
    assert written["path"].startswith("/etc/systemd/network/80-ec2.network.d/")
    assert _networkd_mtu(run_dir / "80-ec2.network", [fallback]) == "8500"


def test_the_appliances_keep_the_vpc_mtu():
    # Appliances receive the GWLB's Geneve (8,500 bytes inside, more outside): no lowering.
    text = _user_data(load_set(COMMITTED / "aws" / "single-vpc"))["ApplianceLaunchTemplate"]
    assert _bootcmd(text) == []
