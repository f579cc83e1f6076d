"""Service Quotas from recorded answers (moto serves only the vpc service's defaults): the ec2
quotas and applied values come from fixtures/service_quotas.json, the rest from moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "service_quotas.json"


def _no_such(operation: str) -> ClientError:
    error = {"Code": "NoSuchResourceException", "Message": "The request failed because the "
             "specified service does not exist."}  # fmt: skip
    return ClientError({"Error": error}, operation)


class RecordedServiceQuotas:
    """Answers from one account of the recording, falling back to moto's vpc defaults."""

    def __init__(self, account: str, moto: Any | None = None) -> None:
        data = json.loads(FIXTURE.read_text())[account]
        self.applied, self.defaults, self.moto = data["applied"], data["defaults"], moto

    def get_service_quota(self, ServiceCode: str, QuotaCode: str) -> dict:  # noqa: N803
        found = self.applied.get(f"{ServiceCode}/{QuotaCode}")
        if found is None:
            raise _no_such("GetServiceQuota")
        return {"Quota": found}

    def get_aws_default_service_quota(self, ServiceCode: str, QuotaCode: str) -> dict:  # noqa: N803
        found = self.defaults.get(f"{ServiceCode}/{QuotaCode}")
        if found is not None:
            return {"Quota": found}
        if self.moto is not None and ServiceCode == "vpc":
            # moto's GetServiceQuota answers vpc quotas with their defaults.
            return self.moto.get_service_quota(ServiceCode=ServiceCode, QuotaCode=QuotaCode)
        raise _no_such("GetAWSDefaultServiceQuota")
