"""Copies of a rendered set with one thing broken, for the lab's must-fail tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from core import cfn_yaml
from generator import bundle
from lab import cloudinit

# A stand-in appliance that looks healthy and swallows every Geneve packet: the GWLB's health
# checks pass, traffic does not.
SWALLOWER = b"""
import socket, sys, threading
if "--check-policy" in sys.argv:
    sys.exit(0)
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\\n")

    def log_message(self, *a):
        pass

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 6081))
threading.Thread(target=lambda: [s.recv(65535) for _ in iter(int, 1)], daemon=True).start()
HTTPServer(("0.0.0.0", 80), H).serve_forever()
"""


def copy_set(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _save(path: Path, body: dict) -> None:
    # Long-form intrinsics ({"Ref": ...}) read back the same through cfn_yaml.
    path.write_text(yaml.safe_dump(body, sort_keys=False, width=1000), encoding="utf-8")


def drop_exact_subnet_routes(directory: Path) -> None:
    """The replaced quickstart's routing: only the default routes via the endpoints remain."""
    path = directory / "Nested-InspectionRoutes.yml"
    body = cfn_yaml.load(path)
    for name, res in list(body["Resources"].items()):
        if res["Properties"].get("DestinationCidrBlock", "0.0.0.0/0") != "0.0.0.0/0":
            del body["Resources"][name]
    _save(path, body)


def swallowing_appliance(directory: Path) -> None:
    """Replace the appliance package in the user data with one that never returns a packet."""
    path = directory / "Nested-Appliances.yml"
    body = cfn_yaml.load(path)
    replaced = 0
    for res in body["Resources"].values():
        if res["Type"] != "AWS::EC2::LaunchTemplate":
            continue
        user_data = res["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        # A dual-stack single-vpc set's body is [text, {variables}]: the policy's IPv6 head.
        sub = user_data["Fn::Sub"]
        text = sub[0] if isinstance(sub, list) else sub
        doc = yaml.safe_load(text)
        for item in doc["write_files"]:
            if item["path"] == bundle.ENCODED_PATH:
                new = bundle.pack({"__init__.py": "", "__main__.py": SWALLOWER.decode()})
                text = text.replace(item["content"].strip(), new)
                replaced += 1
        user_data["Fn::Sub"] = [text, sub[1]] if isinstance(sub, list) else text
        assert cloudinit.parse(text).unpacks()
    assert replaced == 1
    _save(path, body)


def edit(directory: Path, template: str, change) -> None:
    """Load one template, let change(body) edit it in place, write it back."""
    path = directory / template
    body = cfn_yaml.load(path)
    change(body)
    _save(path, body)


def drop_mtu_setting(directory: Path) -> None:
    """The web servers keep EC2's 9001-byte MTU: full-size TCP segments exceed the GWLB's 8,500."""
    path = directory / "Nested-Web.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if "mtu 8500" not in line]
    assert len(kept) < len(lines)
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def drop_resources(directory: Path, template: str, *names: str) -> None:
    def change(body: dict) -> None:
        for name in names:
            del body["Resources"][name]

    edit(directory, template, change)


def deny_all_acl(directory: Path, subnet: str) -> None:
    """A network ACL with no rules (so the final deny) on one subnet of Nested-Network.yml."""

    def change(body: dict) -> None:
        resources = body["Resources"]
        resources["LockedAcl"] = {
            "Type": "AWS::EC2::NetworkAcl",
            "Properties": {"VpcId": {"Ref": "Vpc"}},
        }
        resources["LockedAclAssociation"] = {
            "Type": "AWS::EC2::SubnetNetworkAclAssociation",
            "Properties": {"NetworkAclId": {"Ref": "LockedAcl"}, "SubnetId": {"Ref": subnet}},
        }

    edit(directory, "Nested-Network.yml", change)


def drop_group_rules(directory: Path, template: str, group: str, way: str, port: int) -> None:
    """Remove the group's rules of one direction ("Ingress"/"Egress") whose FromPort is port."""

    def change(body: dict) -> None:
        props = body["Resources"][group]["Properties"]
        rules = props[f"SecurityGroup{way}"]
        props[f"SecurityGroup{way}"] = [r for r in rules if int(r.get("FromPort", -1)) != port]
        assert len(props[f"SecurityGroup{way}"]) < len(rules)

    edit(directory, template, change)


def drop_target(directory: Path, host: str) -> None:
    """The ALB's target group no longer lists one web server."""

    def change(body: dict) -> None:
        props = body["Resources"]["WebTargetGroup"]["Properties"]
        props["Targets"] = [t for t in props["Targets"] if t["Id"] != {"Ref": host}]

    edit(directory, "Nested-Web.yml", change)


def rename_everywhere(directory: Path, old: str, new: str) -> None:
    """Rename a word in every template of the set (logical ids, outputs, references)."""
    for path in directory.glob("*.yml"):
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def sub_list_cidrs(directory: Path) -> None:
    """CidrBlock: !Ref X becomes the equivalent !Sub ['${Net}', {Net: !Ref X}]."""

    def change(body: dict) -> None:
        for res in body["Resources"].values():
            if res["Type"] in ("AWS::EC2::Subnet", "AWS::EC2::VPC"):
                ref = res["Properties"]["CidrBlock"]
                res["Properties"]["CidrBlock"] = {"Fn::Sub": ["${Net}", {"Net": ref}]}

    edit(directory, "Nested-Network.yml", change)


def alternative_endpoint(directory: Path, endpoint: str, new: str) -> None:
    """A second endpoint in the same subnet (so the same zone) takes over every route of the
    first, both ways: still symmetric."""

    def add(body: dict) -> None:
        body["Resources"][new] = body["Resources"][endpoint]
        body["Outputs"][f"{new}Id"] = {"Value": {"Ref": new}}

    edit(directory, "Nested-GWLB.yml", add)
    master = directory / "CN-GWLB.yml"
    text = master.read_text(encoding="utf-8")
    assert f"Outputs.{endpoint}Id" in text
    master.write_text(text.replace(f"Outputs.{endpoint}Id", f"Outputs.{new}Id"), encoding="utf-8")


def extra_plain_host(
    directory: Path, group: str = "WorkerSecurityGroup", profile: bool = False
) -> None:
    """An ordinary instance in an application subnet: no user data, its own group (AWS's default
    egress) unless another is named, the web servers' instance profile when asked; it serves
    nothing and signals nothing."""

    def change(body: dict) -> None:
        resources = body["Resources"]
        resources["WorkerSecurityGroup"] = {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "worker", "VpcId": {"Ref": "VpcId"}},
        }
        resources["Worker"] = {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": {"Ref": "LinuxAmiId"},
                "InstanceType": "t3.micro",
                "SubnetId": {"Ref": "ApplicationSubnet1Id"},
                "SecurityGroupIds": [{"Ref": group}],
            },
        }
        if profile:
            resources["Worker"]["Properties"]["IamInstanceProfile"] = {
                "Ref": "WebInstanceProfileName"
            }

    edit(directory, "Nested-Web.yml", change)


def false_condition(directory: Path, template: str, *names: str) -> None:
    """The resources exist in the template but behind a condition that is false."""

    def change(body: dict) -> None:
        body.setdefault("Conditions", {})["Never"] = {"Fn::Equals": ["yes", "no"]}
        for name in names:
            body["Resources"][name]["Condition"] = "Never"

    edit(directory, template, change)
