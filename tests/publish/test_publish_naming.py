"""Argument checks, partition rules, object URLs and console links of the publisher, without S3."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from publisher.errors import UsageError
from publisher.naming import (
    launch_url,
    normalize_prefix,
    object_url,
    partition_of,
    region_from_location,
    validate_bucket_name,
)


@pytest.mark.parametrize("name", ["abc", "my-bucket-01", "a" * 63, "0quickstart9"])
def test_valid_bucket_names_pass(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "My-Bucket",
        "under_score",
        "-leading",
        "trailing-",
        "192.168.5.4",
        "two..dots",
        "xn--punycode",
        "sthree-thing",
        "amzn-s3-demo-bucket",
        "thing-s3alias",
        "thing--ol-s3",
        "with.dots",
        "space here",
        "",
    ],
)
def test_invalid_bucket_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="invalid bucket name"):
        validate_bucket_name(name)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, ""),
        ("", ""),
        ("/", ""),
        ("qs", "qs"),
        ("/qs/v1/", "qs/v1"),
        ("a.b_c-1/X", "a.b_c-1/X"),
    ],
)
def test_prefix_is_normalized(given: str | None, expected: str) -> None:
    assert normalize_prefix(given) == expected


@pytest.mark.parametrize(
    "prefix", ["a//b", "../up", "a/./b", "has space", "q?x", "é", "a\\b", "x" * 901]
)
def test_invalid_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(UsageError, match="invalid prefix"):
        normalize_prefix(prefix)


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("ap-southeast-3", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
    ],
)
def test_partition_follows_region(region: str, partition: str) -> None:
    assert partition_of(region) == partition


@pytest.mark.parametrize("region", ["us-gov-west-1", "us-isob-east-1"])
def test_partitions_without_templates_are_refused(region: str) -> None:
    with pytest.raises(UsageError, match="no templates"):
        partition_of(region)


@pytest.mark.parametrize("region", ["useast1", "US-EAST-1", "us-east", "cn-north-1; rm"])
def test_malformed_regions_are_refused(region: str) -> None:
    with pytest.raises(UsageError, match="invalid region"):
        partition_of(region)


@pytest.mark.parametrize(
    ("constraint", "region"),
    [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("cn-north-1", "cn-north-1")],
)
def test_bucket_location_answers_map_to_regions(constraint: str | None, region: str) -> None:
    assert region_from_location(constraint) == region


def test_object_urls_are_regional_virtual_hosted() -> None:
    assert (
        object_url("b1", "us-east-1", "p/single-vpc/CN-GWLB.yml")
        == "https://b1.s3.us-east-1.amazonaws.com/p/single-vpc/CN-GWLB.yml"
    )
    assert (
        object_url("b1", "cn-northwest-1", "CN-GWLB.yml")
        == "https://b1.s3.cn-northwest-1.amazonaws.com.cn/CN-GWLB.yml"
    )


def test_object_url_encodes_each_segment_but_keeps_slashes() -> None:
    assert object_url("b1", "eu-west-1", "a b/c+d/e") == (
        "https://b1.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd/e"
    )


@pytest.mark.parametrize(
    ("region", "host"),
    [("us-east-1", "console.aws.amazon.com"), ("cn-north-1", "console.amazonaws.cn")],
)
def test_launch_link_opens_the_review_page_of_the_partition_console(region: str, host: str) -> None:
    template = f"https://b1.s3.{region}.amazonaws.com/x/CN-GWLB.yml?v=1&w=2"
    link = launch_url(region, template, "gwlb-single-vpc")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/cloudformation/home")
    assert parse_qs(parts.query) == {"region": [region]}
    route, _, query = parts.fragment.partition("?")
    assert route == "/stacks/create/review"
    # The template URL is one encoded value: its own '?', '&' and '/' must not leak into the query.
    assert "/" not in query.split("templateURL=", 1)[1].split("&", 1)[0]
    assert parse_qs(query) == {"templateURL": [template], "stackName": ["gwlb-single-vpc"]}
