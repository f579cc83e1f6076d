"""Reading, checking and rewriting a template set; capabilities; the partition guard of a plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfn_tools import load_yaml

from publisher.errors import PartitionMismatch, TemplateSetError
from publisher.plan import build_plan
from publisher.templates import load_template_set, rewrite_master


def test_set_is_read_with_capabilities_and_parameters(fixture_output: Path) -> None:
    ts = load_template_set(fixture_output, "aws", "single-vpc")
    assert ts.master.name == "CN-GWLB.yml"
    assert [n.name for n in ts.nested] == ["Nested-Network.yml", "Nested-SSMRole.yml"]
    # An unnamed IAM role in a nested template, and nested stacks.
    assert ts.capabilities == ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
    assert ts.parameters_without_default == ("KeyName",)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_named_iam_resource_needs_named_iam(fixture_output: Path) -> None:
    role = fixture_output / "aws" / "single-vpc" / "Nested-SSMRole.yml"
    _edit(role, "    Properties:\n", "    Properties:\n      RoleName: fixed-name\n")
    ts = load_template_set(fixture_output, "aws", "single-vpc")
    assert ts.capabilities == ("CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


def test_macro_needs_auto_expand_even_without_nested_stacks(tmp_path: Path) -> None:
    directory = tmp_path / "aws" / "single-vpc"
    directory.mkdir(parents=True)
    (directory / "CN-GWLB.yml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
    )
    assert load_template_set(tmp_path, "aws", "single-vpc").capabilities == (
        "CAPABILITY_AUTO_EXPAND",
    )


def test_plain_template_needs_no_capability(tmp_path: Path) -> None:
    directory = tmp_path / "aws" / "single-vpc"
    directory.mkdir(parents=True)
    (directory / "CN-GWLB.yml").write_text("Resources:\n  T:\n    Type: AWS::SNS::Topic\n")
    assert load_template_set(tmp_path, "aws", "single-vpc").capabilities == ()


def test_missing_set_says_to_run_make_templates(tmp_path: Path) -> None:
    with pytest.raises(TemplateSetError, match="run `make templates`"):
        load_template_set(tmp_path, "aws-cn", "single-vpc")


def test_reference_to_missing_nested_file_is_refused(fixture_output: Path) -> None:
    (fixture_output / "aws" / "single-vpc" / "Nested-Network.yml").unlink()
    with pytest.raises(TemplateSetError, match="Network refers to 'Nested-Network.yml'"):
        load_template_set(fixture_output, "aws", "single-vpc")


def test_unreferenced_nested_file_is_refused(fixture_output: Path) -> None:
    (fixture_output / "aws" / "single-vpc" / "Nested-Stale.yml").write_text("Resources: {}\n")
    with pytest.raises(TemplateSetError, match="Nested-Stale.yml .* not referenced"):
        load_template_set(fixture_output, "aws", "single-vpc")


def test_template_url_that_is_not_a_plain_name_is_refused(fixture_output: Path) -> None:
    master = fixture_output / "aws" / "single-vpc" / "CN-GWLB.yml"
    _edit(master, "TemplateURL: Nested-SSMRole.yml", "TemplateURL: !Sub '${Base}/x.yml'")
    with pytest.raises(TemplateSetError, match="SSMRole has no plain TemplateURL"):
        load_template_set(fixture_output, "aws", "single-vpc")


def test_nested_template_that_nests_again_is_refused(fixture_output: Path) -> None:
    nested = fixture_output / "aws" / "single-vpc" / "Nested-Network.yml"
    _edit(
        nested,
        "Resources:\n",
        "Resources:\n  Deeper:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
        "      TemplateURL: Nested-Network.yml\n",
    )
    with pytest.raises(TemplateSetError, match="nests stacks itself"):
        load_template_set(fixture_output, "aws", "single-vpc")


def test_unreadable_yaml_names_the_file(fixture_output: Path) -> None:
    (fixture_output / "aws" / "single-vpc" / "Nested-Network.yml").write_text("a: [unclosed\n")
    with pytest.raises(TemplateSetError, match="Nested-Network.yml is not a readable YAML"):
        load_template_set(fixture_output, "aws", "single-vpc")


MASTER_CRLF = (
    b"Resources:\r\n"
    b"  A:\r\n"
    b"    Type: AWS::CloudFormation::Stack\r\n"
    b"    Properties:\r\n"
    b"      TemplateURL: 'Nested-A.yml'\r\n"
    b"  B:\r\n"
    b"    Properties:\r\n"
    b"      TemplateURL: Nested-B.yml   \r\n"
    b"    Type: AWS::CloudFormation::Stack\r\n"
    b"Outputs:\r\n"
    b"  Doc:\r\n"
    b"    Value: 'see TemplateURL: Nested-A.yml in the README'\r\n"
)


def test_rewrite_changes_only_the_template_url_values() -> None:
    urls = {"Nested-A.yml": "https://b.s3.us-east-1.amazonaws.com/k/A.yml", "Nested-B.yml": "U-B"}
    out = rewrite_master(MASTER_CRLF, urls).split(b"\r\n")
    before = MASTER_CRLF.split(b"\r\n")
    assert len(out) == len(before)
    changed = {i for i, (a, b) in enumerate(zip(before, out, strict=True)) if a != b}
    assert changed == {4, 7}
    assert out[4] == b"      TemplateURL: https://b.s3.us-east-1.amazonaws.com/k/A.yml"
    assert out[7] == b"      TemplateURL: U-B   "
    parsed = load_yaml(b"\n".join(out).decode())
    assert parsed["Resources"]["A"]["Properties"]["TemplateURL"] == urls["Nested-A.yml"]


def test_rewrite_refuses_a_template_url_not_on_its_own_line() -> None:
    master = (
        b"Resources:\n  A:\n    Type: AWS::CloudFormation::Stack\n"
        b"    Properties: {TemplateURL: Nested-A.yml}\n"
    )
    with pytest.raises(TemplateSetError, match="found 0 TemplateURL lines"):
        rewrite_master(master, {"Nested-A.yml": "https://x"})


@pytest.mark.parametrize(("partition", "region"), [("aws", "cn-north-1"), ("aws-cn", "us-east-1")])
def test_a_set_never_plans_for_a_bucket_of_the_other_partition(
    fixture_output: Path, partition: str, region: str
) -> None:
    ts = load_template_set(fixture_output, partition, "single-vpc")
    with pytest.raises(PartitionMismatch, match=f"the {partition} template set cannot go"):
        build_plan(ts, bucket="b-1", region=region, prefix="", stack_name="s")


def test_plan_uploads_nested_first_and_master_last(fixture_output: Path) -> None:
    ts = load_template_set(fixture_output, "aws-cn", "single-vpc")
    plan = build_plan(ts, bucket="b-1", region="cn-north-1", prefix="p", stack_name="s")
    assert [u.source for u in plan.uploads] == [
        "Nested-Network.yml",
        "Nested-SSMRole.yml",
        "CN-GWLB.yml",
    ]
    assert plan.master.key == "p/single-vpc/CN-GWLB.yml"


def test_changed_nested_content_gets_a_new_key(fixture_output: Path) -> None:
    first = build_plan(
        load_template_set(fixture_output, "aws", "single-vpc"),
        bucket="b-1",
        region="us-east-1",
        prefix="",
        stack_name="s",
    )
    _edit(fixture_output / "aws" / "single-vpc" / "Nested-Network.yml", "VPC", "VPC # v2")
    second = build_plan(
        load_template_set(fixture_output, "aws", "single-vpc"),
        bucket="b-1",
        region="us-east-1",
        prefix="",
        stack_name="s",
    )
    keys = {u.source: u.key for u in first.nested}
    new_keys = {u.source: u.key for u in second.nested}
    assert keys["Nested-SSMRole.yml"] == new_keys["Nested-SSMRole.yml"]
    assert keys["Nested-Network.yml"] != new_keys["Nested-Network.yml"]
    assert first.master.key == second.master.key
