"""Sets we did not write: another master name, S3 and Fn::Sub TemplateURLs, one template holding
everything. The route-path verifier and the contract report their flows, or one error line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from core import cfn_yaml
from verify import contract, files, routepath

HERE = Path(__file__).resolve().parent
ONE_TEMPLATE = HERE / "sets" / "one-template"
COMMITTED = HERE.parents[1] / "output" / "aws" / "separated-vpc"


def _renamed_nested_set(target: Path) -> Path:
    """The committed separated-vpc set as someone else might publish it: master main.yaml,
    lower-case files in S3, one stack by plain URL and the others by Fn::Sub and Fn::Join."""
    target.mkdir()
    names = {
        p.name: p.name.removeprefix("Nested-").lower().replace(".yml", ".yaml")
        for p in COMMITTED.glob("Nested-*.yml")
    }
    for old, new in names.items():
        shutil.copy(COMMITTED / old, target / new)
    master = cfn_yaml.load(COMMITTED / "CN-GWLB.yml")
    for index, resource in enumerate(master["Resources"].values()):
        props = resource["Properties"]
        new = names[props["TemplateURL"]]
        props["TemplateURL"] = [
            f"https://bucket-1.s3.eu-west-1.amazonaws.com/gwlb/v2/{new}",
            {"Fn::Sub": "https://${AWS::StackName}.s3.${AWS::URLSuffix}/gwlb/" + new + "?v=3"},
            {"Fn::Join": ["", ["https://", {"Ref": "AWS::Region"}, ".example/", new]]},
        ][index % 3]
    (target / "main.yaml").write_text(yaml.safe_dump(master, sort_keys=False, width=1000))
    return target


def test_a_renamed_nested_set_with_s3_urls_reads_like_ours(tmp_path, capsys):
    foreign = _renamed_nested_set(tmp_path / "theirs")
    assert files.load(foreign).master == "main.yaml"
    assert contract.main([str(foreign)]) == 0
    assert routepath.main([str(foreign)]) == 0
    theirs = capsys.readouterr().out
    assert routepath.main([str(COMMITTED)]) == 0
    ours = capsys.readouterr().out
    # The same set under other file names traces the same flows, hop by hop.
    assert theirs.splitlines()[-12:] == ours.splitlines()[-12:]


def test_a_single_template_set_of_another_author_is_traced():
    net = routepath.reader.load(ONE_TEMPLATE)
    flows = routepath.standard_flows(net)
    assert sorted(f.name for f in flows) == sorted(
        ["ShopA -> internet", "ShopB -> internet"]
        + [f"ALB node in Front{z} -> Shop{s}" for z in "AB" for s in "AB"]
    )
    assert routepath.problems(net) == []


def test_replies_that_bypass_the_gwlb_are_found_in_their_set(capsys):
    code = routepath.main([str(ONE_TEMPLATE), "--parameter", "ExactReturnRoutes=no"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    one_way = "ALB node in FrontA -> ShopA: endpoint out ['EndpointA'], back ['none']"
    assert f"NOT INSPECTED SYMMETRICALLY: {one_way}" in err
    assert len(err) == 4  # every ALB pair; egress still crosses the endpoint both ways


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("two-masters", "templates are nested by no other one"),
        ("missing-file", "TemplateURL names inspectionnetwork.yaml, not a file of the set"),
        ("bad-yaml", "not a readable template"),
    ],
)
def test_sets_it_cannot_read_are_one_error_line(tmp_path, capsys, edit, message):
    foreign = _renamed_nested_set(tmp_path / "theirs")
    if edit == "two-masters":
        shutil.copy(foreign / "main.yaml", foreign / "main-copy.yaml")
    elif edit == "missing-file":
        (foreign / "inspectionnetwork.yaml").unlink()
    else:
        (foreign / "gwlb.yaml").write_text("Resources: [unclosed\n")
    assert routepath.main([str(foreign)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    # A stack without its file is one of the contract's findings (exit 1); the others stop it.
    assert contract.main([str(foreign)]) == (1 if edit == "missing-file" else 2)
    out, err = capsys.readouterr()
    assert message in out + err


def test_a_named_master_settles_which_template_it_is(tmp_path):
    foreign = _renamed_nested_set(tmp_path / "theirs")
    shutil.copy(foreign / "main.yaml", foreign / "main-copy.yaml")
    assert routepath.main([str(foreign), "--master", "main-copy.yaml"]) == 0
