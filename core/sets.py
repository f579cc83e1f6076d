"""Names and limits every template set shares: the architectures, the master's file name, nested
files, the nested-stack resource type, and what CloudFormation accepts of one template."""

from __future__ import annotations

ARCHITECTURES = ("single-vpc", "separated-vpc")
MASTER_FILE = "CN-GWLB.yml"
NESTED_GLOB = "Nested-*.yml"
STACK_TYPE = "AWS::CloudFormation::Stack"
# CloudFormation quotas per template (documented service limits).
TEMPLATE_LIMITS = {"Resources": 500, "Parameters": 200, "Outputs": 200}
# A template launched from S3 may be this large (a template passed inline, 51,200 bytes).
MAX_TEMPLATE_BYTES = 1_000_000
# Where the master records the architecture and options that made the set.
METADATA_KEY = "GwlbQuickstart"
