"""Values that really differ between the aws and aws-cn partitions. Everything else uses pseudo
parameters (AWS::Partition, AWS::URLSuffix), so one template serves every region of a partition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    name: str
    # GWLB endpoints name their service as <prefix>.<region>.<service id>.
    endpoint_service_prefix: str
    lint_regions: tuple[str, ...]


PARTITIONS = {
    "aws": Partition("aws", "com.amazonaws.vpce", ("us-east-1",)),
    "aws-cn": Partition("aws-cn", "cn.com.amazonaws.vpce", ("cn-north-1", "cn-northwest-1")),
}
