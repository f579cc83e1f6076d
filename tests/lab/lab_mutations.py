"""Copies of a rendered set with one thing broken, for the lab's must-fail tests."""

from __future__ import annotations

import base64
import gzip
import io
import shutil
import tarfile
from pathlib import Path

import yaml

from core import cfn_yaml
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
        if res["Properties"]["DestinationCidrBlock"] != "0.0.0.0/0":
            del body["Resources"][name]
    _save(path, body)


def _archive(files: dict[str, bytes]) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(gzip.compress(buf.getvalue())).decode()


def swallowing_appliance(directory: Path) -> None:
    """Replace the appliance package in the user data with one that never returns a packet."""
    path = directory / "Nested-Appliances.yml"
    body = cfn_yaml.load(path)
    replaced = 0
    for res in body["Resources"].values():
        if res["Type"] != "AWS::EC2::LaunchTemplate":
            continue
        user_data = res["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        text = user_data["Fn::Sub"]
        doc = yaml.safe_load(text)
        for item in doc["write_files"]:
            if item.get("encoding") == "gz+b64":
                new = _archive({"appliance/__init__.py": b"", "appliance/__main__.py": SWALLOWER})
                text = text.replace(item["content"], new)
                replaced += 1
        user_data["Fn::Sub"] = text
        assert cloudinit.parse(text).archives()
    assert replaced == 1
    _save(path, body)
