"""The lab knows our appliance in every committed set, and replays its user data's own unpack
command: the shipped modules, with the shipped policy, are what runs (never the stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import cloudinit, roles
from verify import reader

COMMITTED = Path(__file__).resolve().parents[2] / "output"
SETS = sorted(p.parent for p in COMMITTED.glob("*/*/CN-GWLB.yml"))


@pytest.mark.parametrize("directory", SETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_committed_appliances_are_ours_and_unpack_under_a_root(directory, tmp_path):
    appliances = reader.load(directory).hosts_of("appliance")
    assert appliances and all(roles.ours(h) for h in appliances)
    boot = cloudinit.parse(appliances[0].user_data)
    root = cloudinit.Root(tmp_path)
    root.install(boot)
    unpacked = sorted(p.name for p in root.path("/opt/gwlb-appliance/appliance").glob("*.py"))
    shipped = sorted(p.name for p in (COMMITTED.parent / "appliance").glob("*.py"))
    assert unpacked == shipped
    (unit,) = boot.enabled_units()
    assert "--policy" in unit.exec_start and "--allow-all" not in unit.exec_start


def test_other_code_in_runcmd_is_never_run(tmp_path):
    text = f"#cloud-config\nruncmd:\n- [python3, -c, \"open('{tmp_path}/ran', 'w')\", /x, /y]\n"
    boot = cloudinit.parse(text)
    assert boot.unpacks() == []
    cloudinit.Root(tmp_path / "root").install(boot)
    assert not (tmp_path / "ran").exists()
