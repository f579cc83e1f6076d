"""The shared core: one CloudFormation YAML reader and one partition table for every part."""

import pytest

from core import cfn_yaml, partitions, sets
from generator import options
from publisher import naming as publisher_naming
from publisher import templates as publisher_templates

TEMPLATE = """
Resources:
  Subnet:
    Properties:
      CidrBlock: !Select [2, !Cidr [!Ref VpcCidr, 6, 8]]
      Tags: [{Key: Name, Value: !Sub '${AWS::StackName} x'}]
      VpcId: !GetAtt 'NetworkStack.Outputs.VpcId'
      Other: !GetAtt [A, B]
      Found: !FindInMap [M, !Ref 'AWS::Region', K]
"""


def test_short_form_tags_read_as_their_long_form():
    props = cfn_yaml.loads(TEMPLATE)["Resources"]["Subnet"]["Properties"]
    assert props["CidrBlock"] == {"Fn::Select": [2, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 6, 8]}]}
    assert props["Tags"][0]["Value"] == {"Fn::Sub": "${AWS::StackName} x"}
    # The dotted short form of GetAtt is the long form's pair.
    assert props["VpcId"] == {"Fn::GetAtt": ["NetworkStack", "Outputs.VpcId"]}
    assert props["Other"] == {"Fn::GetAtt": ["A", "B"]}
    assert props["Found"] == {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "K"]}


def test_the_publisher_reads_templates_with_the_same_reader():
    parsed = publisher_templates.parse_template(TEMPLATE.encode(), "t.yml")
    assert parsed == cfn_yaml.loads(TEMPLATE)


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-east-1", "aws"),
        ("ap-southeast-7", "aws"),
        ("us-gov-west-1", None),
        ("us-isob-east-1", None),
    ],
)
def test_the_partition_of_a_region(region, partition):
    found = partitions.partition_of_region(region)
    assert (found.name if found else None) == partition


def test_one_table_serves_generator_and_publisher():
    assert options.PARTITION_NAMES == ("aws", "aws-cn") == tuple(partitions.PARTITIONS)
    assert options.ARCHITECTURES == sets.ARCHITECTURES == publisher_templates.ARCHITECTURES
    assert publisher_naming.MASTER_NAME == sets.MASTER_FILE == "CN-GWLB.yml"
    assert publisher_naming.console_host("cn-north-1") == "console.amazonaws.cn"
    assert publisher_naming.s3_host("b", "cn-north-1") == "b.s3.cn-north-1.amazonaws.com.cn"
    assert publisher_naming.s3_host("b", "eu-west-1") == "b.s3.eu-west-1.amazonaws.com"


def test_web_server_outputs_are_made_and_parsed_in_one_place():
    from core import naming

    made = naming.prefixed(
        naming.app_prefix(12),
        naming.resource_output(naming.web_server_id(2), naming.SESSION_COMMAND_OUTPUT),
    )
    assert made == "App12WebServer3SessionCommand"
    assert naming.parse_web_server_output(made) == ("App12", 3, "SessionCommand")
    assert naming.parse_web_server_output("WebServer1Id") == ("", 1, "Id")
    assert naming.parse_web_server_output("InspectionVpcWebServer1Id") is None
    assert naming.parse_web_server_output("App1AlbUrl") is None
    assert naming.parse_app_prefix("App12") == 12 and naming.parse_app_prefix("") == 0


def test_the_stack_name_rule():
    from core.naming import validate_stack_name

    assert validate_stack_name("gwlb-demo-2") == "gwlb-demo-2"
    for bad in ("2gwlb", "x;echo", "a" * 129, ""):
        with pytest.raises(ValueError, match="invalid stack name"):
            validate_stack_name(bad)


def test_the_options_a_master_records():
    from pathlib import Path

    from core import cfn_yaml
    from core.sets import recorded_options

    master = cfn_yaml.load(
        Path(__file__).resolve().parents[2] / "output" / "aws-cn" / "separated-vpc" / "CN-GWLB.yml"
    )
    architecture, options = recorded_options(master)
    assert architecture == "separated-vpc" and options["az_count"] == 2
    assert recorded_options({"Description": "GWLB (separated-vpc, 2 AZ)"}) is None
