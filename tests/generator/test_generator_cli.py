"""The generator's command line: a good run writes each set, a bad option writes nothing."""

from pathlib import Path

import pytest

from templates import main

NESTED = {
    "CN-GWLB.yml",
    "Nested-SSMRole.yml",
    "Nested-Network.yml",
    "Nested-GWLB.yml",
    "Nested-InspectionRoutes.yml",
    "Nested-Appliances.yml",
    "Nested-Web.yml",
    "Nested-Bastion.yml",
}


SEPARATED = {
    "CN-GWLB.yml",
    "Nested-SSMRole.yml",
    "Nested-InspectionNetwork.yml",
    "Nested-GWLB.yml",
    "Nested-Appliances.yml",
    "Nested-AppVpc.yml",
    "Nested-AppWeb.yml",
    "Nested-Bastion.yml",
}


def test_writes_master_and_one_nested_template_per_concern(fresh):
    for partition in ("aws", "aws-cn"):
        names = {p.name for p in (fresh / partition / "single-vpc").iterdir()}
        assert names == NESTED | {"ARCHITECTURE.md"}
        names = {p.name for p in (fresh / partition / "separated-vpc").iterdir()}
        assert names == SEPARATED | {"ARCHITECTURE.md"}
    assert sorted(p.name for p in fresh.iterdir()) == ["aws", "aws-cn"]


def test_one_partition_only(tmp_path):
    assert main(["--partition", "aws-cn", "--output", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["aws-cn"]


def test_regeneration_removes_files_no_longer_generated(tmp_path):
    stale = tmp_path / "aws" / "single-vpc" / "Nested-Old.yml"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    assert main(["--partition", "aws", "--output", str(tmp_path)]) == 0
    assert not stale.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--partition", "aws-gov"], "unknown partition 'aws-gov'"),
        (["--az-count", "4"], "AZ count 4 is out of range 2-3"),
        (["--az-count", "1"], "AZ count 1 is out of range 2-3 (the ALB needs two AZs"),
        (["--vpc-cidr", "10.0.0.0/8"], "AWS allows /16 to /28"),
        (["--vpc-cidr", "10.0.0.300/16"], "not a valid IPv4 CIDR"),
        (["--architecture", "separated"], "unknown architecture 'separated'"),
        (["--app-vpcs", "2"], "--app-vpcs and --app-vpc-cidr need --architecture separated-vpc"),
        (["--architecture", "separated-vpc", "--app-vpcs", "11"], "count 11 is out of range 1-10"),
        (
            ["--architecture", "separated-vpc", "--subnet-cidr", "PublicSubnet1=10.0.9.0/24"],
            "--subnet-cidr is for single-vpc",
        ),
        (
            ["--architecture", "separated-vpc", "--app-vpcs", "3", "--app-vpc-cidr", "10.0.0.0/16"],
            "VPC CIDRs overlap: InspectionVpc and App1Vpc",
        ),
        (["--subnet-cidr", "PublicSubnet1"], "--subnet-cidr wants NAME=CIDR"),
        (
            [
                "--subnet-cidr",
                "PublicSubnet1=10.0.9.0/24",
                "--subnet-cidr",
                "PublicSubnet2=10.0.9.0/24",
            ],
            "subnet CIDRs overlap: PublicSubnet1 and PublicSubnet2",
        ),
    ],
)
def test_bad_option_prints_one_line_exits_2_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main([*argv, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("error: ")
    assert not out.exists()


def test_bad_option_keeps_an_existing_set(tmp_path):
    assert main(["--partition", "aws", "--output", str(tmp_path)]) == 0
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*.yml"))}
    assert main(["--partition", "aws", "--az-count", "9", "--output", str(tmp_path)]) == 2
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*.yml"))} == before


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    flags = ("--partition", "--architecture", "--az-count", "--output", "--vpc-cidr", "--app-vpcs")
    for flag in flags:
        assert flag in text


def test_committed_output_equals_a_fresh_generation(fresh):
    committed = Path(__file__).resolve().parents[2] / "output"
    files = lambda root: {  # noqa: E731
        p.relative_to(root): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()
    }
    expected, actual = files(fresh), files(committed)
    assert sorted(actual) == sorted(expected), "run make templates and commit output/"
    stale = [str(k) for k in expected if actual[k] != expected[k]]
    assert not stale, f"output/ is stale, run make templates: {stale}"
