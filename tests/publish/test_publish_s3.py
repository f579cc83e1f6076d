"""publish.main end to end against moto S3: uploads, rewritten URLs, launch link, reruns, errors."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from botocore.exceptions import ClientError
from cfn_tools import load_yaml

import publish

REAL_OUTPUT = Path(__file__).resolve().parents[2] / "output"
# Written out here rather than derived from publisher/, so the tests check the code.
URL_PATTERN = {
    "us-east-1": r"https://{bucket}\.s3\.us-east-1\.amazonaws\.com/(?P<key>\S+)",
    "cn-north-1": r"https://{bucket}\.s3\.cn-north-1\.amazonaws\.com\.cn/(?P<key>\S+)",
}
MASTER_URL = {
    "us-east-1": "https://{bucket}.s3.us-east-1.amazonaws.com/qs/v1/single-vpc/CN-GWLB.yml",
    "cn-north-1": "https://{bucket}.s3.cn-north-1.amazonaws.com.cn/qs/v1/single-vpc/CN-GWLB.yml",
}
CONSOLE_HOST = {"us-east-1": "console.aws.amazon.com", "cn-north-1": "console.amazonaws.cn"}
PARTITION = {"us-east-1": "aws", "cn-north-1": "aws-cn"}
MASTER_KEY = "qs/v1/single-vpc/CN-GWLB.yml"


class Recording:
    """Wraps a boto3 client: records each call, and lets a test make one fail."""

    def __init__(self, client: Any, fail: Callable[[str, dict, list], None] | None = None):
        self._client = client
        self._fail = fail
        self.calls: list[tuple[str, str | None]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs.get("Key")))
            if self._fail:
                self._fail(name, kwargs, self.calls)
            return attribute(*args, **kwargs)

        return call


def recording_factory(fail: Callable | None = None) -> tuple[Callable, list[Recording]]:
    made: list[Recording] = []

    def factory(profile: str | None, region: str, endpoint_url: str | None) -> Recording:
        client = Recording(publish.boto3_client(profile, region, endpoint_url), fail)
        made.append(client)
        return client

    return factory, made


def calls_of(made: list[Recording], operation: str) -> list[str | None]:
    return [key for client in made for (name, key) in client.calls if name == operation]


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (injected)"}}, operation)


def body(client: Any, bucket: str, key: str) -> bytes | None:
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None


def keys(client: Any, bucket: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def one_error_line(err: str) -> str:
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    return err


@pytest.fixture(params=["fixture", "real"])
def output_root(request: pytest.FixtureRequest, fixture_output: Path) -> Path:
    """The small fixture sets, and the generator's committed output/."""
    if request.param == "fixture":
        return fixture_output
    assert (REAL_OUTPUT / "aws" / "single-vpc" / "CN-GWLB.yml").is_file(), (
        "output/ is committed by the generator; run `make templates`"
    )
    return REAL_OUTPUT


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def publish_args(bucket: str, region: str, moto_url: str, root: Path) -> list[str]:
    args = ["--bucket", bucket, "--prefix", "qs/v1", "--endpoint-url", moto_url]
    args += ["--output", str(root)]
    # A us-east-1 bucket is found without any configured region; China credentials come with a
    # China region, as they would for a real user.
    return [*args, "--region", region] if region.startswith("cn-") else args


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1"])
def test_publish_uploads_a_set_that_launches_without_edits(
    region, output_root, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in(region)
    source = output_root / PARTITION[region] / "single-vpc"
    before = snapshot(source)

    code, out, err = run_publish(*publish_args(bucket, region, moto_url, output_root))

    assert (code, err) == (0, "")
    s3 = s3_admin(region)
    master = body(s3, bucket, MASTER_KEY)
    assert master is not None
    original = (source / "CN-GWLB.yml").read_bytes()
    original_data = load_yaml(original.decode())
    uploaded_data = load_yaml(master.decode())
    stacks = {
        name: r["Properties"]["TemplateURL"]
        for name, r in original_data["Resources"].items()
        if r["Type"] == "AWS::CloudFormation::Stack"
    }
    assert stacks, "the set has nested stacks"
    nested_keys = set()
    for name, file_name in stacks.items():
        url = uploaded_data["Resources"][name]["Properties"]["TemplateURL"]
        match = re.fullmatch(URL_PATTERN[region].format(bucket=bucket), url)
        assert match, url
        key = unquote(match["key"])
        assert key.startswith("qs/v1/")
        assert body(s3, bucket, key) == (source / file_name).read_bytes()
        nested_keys.add(key)
    # Every nested file is published, and nothing else lands in the bucket.
    assert len(nested_keys) == len(list(source.glob("Nested-*.yml")))
    assert keys(s3, bucket) == sorted([*nested_keys, MASTER_KEY])

    # Only the TemplateURL values differ from the committed master.
    old_lines, new_lines = original.split(b"\n"), master.split(b"\n")
    assert len(old_lines) == len(new_lines)
    differing = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(differing) == len(stacks)
    for old, new in differing:
        head = old[: old.index(b"TemplateURL: ") + len(b"TemplateURL: ")]
        assert head.strip() == b"TemplateURL:" and new.startswith(head)

    # Private objects, no bucket policy.
    for key in keys(s3, bucket):
        grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert [g["Grantee"]["Type"] for g in grants] == ["CanonicalUser"]
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=bucket)

    # Launch link: the partition's console, this region, the master's URL as one encoded value.
    expected_master_url = MASTER_URL[region].format(bucket=bucket)
    links = [w for w in out.split() if w.startswith(f"https://{CONSOLE_HOST[region]}/")]
    assert len(links) == 1, out
    link = urlsplit(links[0])
    assert link.path == "/cloudformation/home" and parse_qs(link.query) == {"region": [region]}
    route, _, query = link.fragment.partition("?")
    assert route == "/stacks/create/review"
    assert parse_qs(query)["templateURL"] == [expected_master_url]
    assert "templateURL=https%3A%2F%2F" in query
    assert parse_qs(query)["stackName"] == ["gwlb-single-vpc"]

    command = next(line.strip() for line in out.splitlines() if "create-stack" in line)
    assert f"--region {region} " in command
    assert f"--template-url {expected_master_url} " in command
    assert re.search(r"--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND\b", command)

    assert snapshot(source) == before, "the committed output/ must never be modified"


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1"])
def test_second_publish_uploads_nothing(
    region, output_root, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in(region)
    args = publish_args(bucket, region, moto_url, output_root)
    assert run_publish(*args)[0] == 0
    s3 = s3_admin(region)
    before = {k: body(s3, bucket, k) for k in keys(s3, bucket)}

    factory, made = recording_factory()
    code, out, err = run_publish(*args, client_factory=factory)

    assert (code, err) == (0, "")
    assert calls_of(made, "put_object") == []
    assert sorted(calls_of(made, "head_object")) == sorted(before)
    assert f"0 uploaded, {len(before)} unchanged" in out
    assert {k: body(s3, bucket, k) for k in keys(s3, bucket)} == before


def test_changed_nested_template_uploads_it_and_the_master_only(
    fixture_output, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in("us-east-1")
    args = publish_args(bucket, "us-east-1", moto_url, fixture_output)
    assert run_publish(*args)[0] == 0
    s3 = s3_admin("us-east-1")
    first_keys = keys(s3, bucket)
    network = fixture_output / "aws" / "single-vpc" / "Nested-Network.yml"
    network.write_text(network.read_text() + "Description: v2\n")

    factory, made = recording_factory()
    assert run_publish(*args, client_factory=factory)[0] == 0

    uploaded = calls_of(made, "put_object")
    assert len(uploaded) == 2 and uploaded[-1] == MASTER_KEY
    assert uploaded[0].endswith("/Nested-Network.yml") and uploaded[0] not in first_keys
    # The earlier nested object stays, so a master published before still launches.
    assert set(first_keys) < set(keys(s3, bucket))


def fail_on_put(number: int, code: str) -> Callable[[str, dict, list], None]:
    def fail(name: str, kwargs: dict, calls: list) -> None:
        if name == "put_object" and sum(1 for n, _ in calls if n == "put_object") == number:
            raise client_error(code, "PutObject")

    return fail


def test_failure_part_way_leaves_the_master_unpublished(
    fixture_output, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in("us-east-1")
    factory, made = recording_factory(fail_on_put(2, "InternalError"))

    code, out, err = run_publish(
        *publish_args(bucket, "us-east-1", moto_url, fixture_output), client_factory=factory
    )

    assert code == 2
    assert "InternalError" in one_error_line(err)
    s3 = s3_admin("us-east-1")
    assert body(s3, bucket, MASTER_KEY) is None
    assert len(keys(s3, bucket)) == 1 and calls_of(made, "put_object")[-1] != MASTER_KEY


def test_failed_republish_keeps_the_old_master_launchable(
    fixture_output, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in("cn-north-1")
    args = publish_args(bucket, "cn-north-1", moto_url, fixture_output)
    assert run_publish(*args)[0] == 0
    s3 = s3_admin("cn-north-1")
    old_master = body(s3, bucket, MASTER_KEY)
    source = fixture_output / "aws-cn" / "single-vpc"
    old_files = {p.name: p.read_bytes() for p in source.glob("Nested-*.yml")}
    for path in source.glob("Nested-*.yml"):
        path.write_text(path.read_text() + "Description: v2\n")
    factory, _ = recording_factory(fail_on_put(2, "SlowDown"))

    code, _, err = run_publish(*args, client_factory=factory)

    assert code == 2 and "SlowDown" in one_error_line(err)
    assert body(s3, bucket, MASTER_KEY) == old_master
    data = load_yaml(old_master.decode())
    for resource in data["Resources"].values():
        if resource["Type"] == "AWS::CloudFormation::Stack":
            url = resource["Properties"]["TemplateURL"]
            key = unquote(re.fullmatch(URL_PATTERN["cn-north-1"].format(bucket=bucket), url)["key"])
            assert body(s3, bucket, key) == old_files[key.rsplit("/", 1)[1]]


@pytest.mark.parametrize("operation", ["get_bucket_location", "head_object", "put_object"])
def test_access_denied_exits_2_and_publishes_nothing(
    operation, fixture_output, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in("us-east-1")

    def deny(name: str, kwargs: dict, calls: list) -> None:
        if name == operation:
            raise client_error("AccessDenied", operation)

    factory, _ = recording_factory(deny)
    code, _, err = run_publish(
        *publish_args(bucket, "us-east-1", moto_url, fixture_output), client_factory=factory
    )
    assert code == 2
    assert f"error: access denied to s3://{bucket}" in one_error_line(err)
    assert keys(s3_admin("us-east-1"), bucket) == []


def test_no_credentials_exits_2_and_publishes_nothing(
    monkeypatch, fixture_output, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in("us-east-1")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code, _, err = run_publish(*publish_args(bucket, "us-east-1", moto_url, fixture_output))

    assert code == 2
    assert one_error_line(err).startswith("error: no AWS credentials found")
    assert keys(s3_admin("us-east-1"), bucket) == []


def test_missing_bucket_points_at_create_bucket(
    fixture_output, s3_admin, moto_url, run_publish
) -> None:
    code, _, err = run_publish(
        *publish_args("qs-does-not-exist-1", "us-east-1", moto_url, fixture_output)
    )
    assert code == 2
    assert "does not exist" in one_error_line(err) and "--create-bucket" in err
    with pytest.raises(ClientError):
        s3_admin("us-east-1").head_bucket(Bucket="qs-does-not-exist-1")


@pytest.mark.parametrize("region", ["us-east-1", "cn-northwest-1"])
def test_create_bucket_creates_it_in_the_region_then_publishes(
    region, fixture_output, s3_admin, moto_url, run_publish
) -> None:
    bucket = f"qs-new-{region}"
    code, out, err = run_publish(
        "--bucket", bucket, "--region", region, "--create-bucket", "--endpoint-url", moto_url,
        "--output", str(fixture_output),
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    s3 = s3_admin(region)
    location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert (location or "us-east-1") == region
    master = body(s3, bucket, "single-vpc/CN-GWLB.yml")
    assert master is not None
    assert (b"arn:aws-cn:" in master) == region.startswith("cn-")
    assert f"Created bucket s3://{bucket} in {region}" in out


def test_create_bucket_needs_a_region(fixture_output, moto_url, run_publish) -> None:
    code, _, err = run_publish(
        "--bucket", "qs-nowhere-1", "--create-bucket", "--endpoint-url", moto_url,
        "--output", str(fixture_output),
    )  # fmt: skip
    assert code == 2 and "--create-bucket needs --region" in one_error_line(err)


def test_china_bucket_gets_the_china_set_whatever_region_was_given(
    fixture_output, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    bucket = bucket_in("cn-north-1")
    code, _, err = run_publish(
        "--bucket", bucket, "--region", "us-east-1", "--endpoint-url", moto_url,
        "--output", str(fixture_output),
    )  # fmt: skip
    assert (code, err) == (0, "")
    s3 = s3_admin("cn-north-1")
    for key in keys(s3, bucket):
        name = key.rsplit("/", 1)[1]
        content = body(s3, bucket, key)
        if name != "CN-GWLB.yml":
            assert content == (fixture_output / "aws-cn" / "single-vpc" / name).read_bytes()
    assert b"arn:aws-cn:" in body(s3, bucket, "single-vpc/CN-GWLB.yml")


def test_missing_set_for_the_bucket_partition_never_falls_back(
    tmp_path, make_set, bucket_in, s3_admin, moto_url, run_publish
) -> None:
    root = tmp_path / "only-aws"
    make_set(root, "aws")
    bucket = bucket_in("cn-north-1")
    code, _, err = run_publish(*publish_args(bucket, "cn-north-1", moto_url, root))
    assert code == 2
    assert "aws-cn/single-vpc" in one_error_line(err) and "make templates" in err
    assert keys(s3_admin("cn-north-1"), bucket) == []


def refuse_any_client(profile: str | None, region: str, endpoint_url: str | None) -> Any:
    raise AssertionError("no client may be made")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "Bad_Bucket"], "error: invalid bucket name 'Bad_Bucket'"),
        (["--bucket", "good-bucket", "--prefix", "../x"], "error: invalid prefix '../x'"),
        (["--bucket", "good-bucket", "--prefix", "a//b"], "error: invalid prefix 'a//b'"),
        (["--bucket", "good-bucket", "--region", "moon-1"], "error: invalid region 'moon-1'"),
        (["--bucket", "good-bucket", "--output", "/nonexistent/output"], "make templates"),
    ],
)
def test_invalid_input_exits_2_before_any_request(args, message, fixture_output, run_publish):
    if "--output" not in args:
        args = [*args, "--output", str(fixture_output)]
    code, out, err = run_publish(*args, client_factory=refuse_any_client)
    assert code == 2 and message in one_error_line(err) and out == ""


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1"])
def test_dry_run_prints_the_plan_and_makes_no_request(region, output_root, run_publish) -> None:
    code, out, err = run_publish(
        "--bucket", "qs-plan", "--prefix", "qs/v1", "--region", region, "--dry-run",
        "--endpoint-url", closed_port_url(), "--output", str(output_root),
    )  # fmt: skip
    assert (code, err) == (0, "")
    source = output_root / PARTITION[region] / "single-vpc"
    for nested in source.glob("Nested-*.yml"):
        assert re.search(rf"qs/v1/single-vpc/nested/\S+/{nested.name}\b", out)
    assert MASTER_KEY in out
    assert MASTER_URL[region].format(bucket="qs-plan") in out
    assert f"https://{CONSOLE_HOST[region]}/cloudformation/home?region={region}#" in out
    assert "no request" in out


def test_dry_run_makes_no_client_at_all(fixture_output, run_publish) -> None:
    code, _, err = run_publish(
        "--bucket", "qs-plan", "--region", "cn-north-1", "--dry-run",
        "--output", str(fixture_output), client_factory=refuse_any_client,
    )  # fmt: skip
    assert (code, err) == (0, "")


def test_dry_run_without_a_region_asks_for_one(fixture_output, run_publish) -> None:
    code, _, err = run_publish(
        "--bucket", "qs-plan", "--dry-run", "--output", str(fixture_output),
        client_factory=refuse_any_client,
    )  # fmt: skip
    assert code == 2 and "pass --region" in one_error_line(err)


def test_dry_run_uses_the_configured_region(monkeypatch, fixture_output, run_publish) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-northwest-1")
    code, out, _ = run_publish(
        "--bucket", "qs-plan", "--dry-run", "--output", str(fixture_output),
        client_factory=refuse_any_client,
    )  # fmt: skip
    assert code == 0 and "https://qs-plan.s3.cn-northwest-1.amazonaws.com.cn/" in out


def test_unknown_profile_exits_2(fixture_output, run_publish) -> None:
    code, _, err = run_publish(
        "--bucket", "qs-plan", "--profile", "nobody", "--output", str(fixture_output),
        client_factory=refuse_any_client,
    )  # fmt: skip
    assert code == 2 and "profile 'nobody' not found" in one_error_line(err)


def test_script_runs_from_any_directory(tmp_path, fixture_output) -> None:
    script = Path(publish.__file__).resolve()
    env = dict(os.environ)
    ok = subprocess.run(
        [sys.executable, str(script), "--bucket", "qs-plan", "--region", "us-east-1",
         "--dry-run", "--output", str(fixture_output)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "https://qs-plan.s3.us-east-1.amazonaws.com/single-vpc/CN-GWLB.yml" in ok.stdout
    bad = subprocess.run(
        [sys.executable, str(script), "--bucket", "Bad", "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("error: invalid bucket name 'Bad'")


def test_create_bucket_creates_nothing_when_the_set_is_missing(
    tmp_path, make_set, s3_admin, moto_url, run_publish
) -> None:
    root = tmp_path / "only-aws"
    make_set(root, "aws")
    code, _, err = run_publish(
        "--bucket", "qs-not-created-1", "--region", "cn-north-1", "--create-bucket",
        "--endpoint-url", moto_url, "--output", str(root),
    )  # fmt: skip
    assert code == 2 and "make templates" in one_error_line(err)
    with pytest.raises(ClientError):
        s3_admin("cn-north-1").head_bucket(Bucket="qs-not-created-1")
