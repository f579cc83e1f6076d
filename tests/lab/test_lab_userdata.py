"""User data as an instance receives it: base64 (a byo set's ApplianceUserData) is decoded, and
gzip in it unpacked, as EC2 and cloud-init do; text that is not base64 stays as it is."""

import base64
import gzip

import pytest

from lab.support import as_delivered

CLOUD_CONFIG = "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, x.service]\n"


def test_base64_user_data_is_decoded():
    assert as_delivered(base64.b64encode(CLOUD_CONFIG.encode()).decode()) == CLOUD_CONFIG


def test_base64_with_line_breaks_is_decoded():
    text = base64.encodebytes(CLOUD_CONFIG.encode() * 5).decode()  # 76-column lines
    assert "\n" in text.strip()
    assert as_delivered(text) == CLOUD_CONFIG * 5


def test_gzip_in_base64_is_unpacked():
    packed = base64.b64encode(gzip.compress(CLOUD_CONFIG.encode())).decode()
    assert as_delivered(packed) == CLOUD_CONFIG


@pytest.mark.parametrize(
    "text", [CLOUD_CONFIG, "#!/bin/bash\necho hi\n", "", "<powershell>x</powershell>", "abc"]
)
def test_text_that_is_not_base64_is_unchanged(text):
    assert as_delivered(text) == text
