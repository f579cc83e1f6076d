"""Names and limits every template set shares: the architectures, the master's file name, nested
files, the nested-stack resource type, and what CloudFormation accepts of one template."""

from __future__ import annotations

ARCHITECTURES = ("single-vpc", "separated-vpc", "tgw-centralized")
MASTER_FILE = "CN-GWLB.yml"
NESTED_GLOB = "Nested-*.yml"
STACK_TYPE = "AWS::CloudFormation::Stack"
# CloudFormation quotas per template (documented service limits).
TEMPLATE_LIMITS = {"Resources": 500, "Parameters": 200, "Outputs": 200}
# A template launched from S3 may be this large (a template passed inline, 51,200 bytes).
MAX_TEMPLATE_BYTES = 1_000_000
# Where the master records the architecture and options that made the set.
METADATA_KEY = "GwlbQuickstart"


def recorded_options(master: object) -> tuple[str, dict[str, object]] | None:
    """(architecture, options) the master records under METADATA_KEY, or None for a master that
    records none (another author's set, or one generated before the record existed)."""
    metadata = master.get("Metadata") if isinstance(master, dict) else None
    record = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("Architecture"), str):
        return None
    options = record.get("Options")
    return record["Architecture"], dict(options) if isinstance(options, dict) else {}
