"""Reads a host's cloud-config user data (write_files, systemd units, runcmd) and replays it under
a per-host root directory: files written, archives extracted (a tar, or our appliance bundle's
own unpack one-liner, the only code of a user data the lab runs), enabled units turned into
argv."""

from __future__ import annotations

import base64
import gzip
import io
import re
import shlex
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator.bundle import UNPACK_CODE

UNIT_DIR = "/etc/systemd/system/"


class BootError(ValueError):
    """User data the lab cannot replay."""


@dataclass(frozen=True)
class File:
    path: str
    content: bytes
    mode: int


@dataclass(frozen=True)
class Unit:
    name: str
    exec_start_pre: tuple[tuple[str, ...], ...]
    exec_start: tuple[str, ...]
    working_directory: str | None
    environment: dict[str, str]
    logs_directory: str | None


# A bootcmd/runcmd entry is replayed only when it sets links (MTU and the like) and does nothing
# the host's namespace would not contain: the lab never runs user data's other commands.
NETWORK_ONLY = re.compile(r"\bip link set\b")
NOT_NETWORK = re.compile(r"\b(curl|wget|aws|rm|mv|cp|dd|systemctl|yum|dnf|rpm|pip|mount|kill)\b|>")


@dataclass
class Boot:
    files: list[File] = field(default_factory=list)
    runcmd: list[list[str]] = field(default_factory=list)
    bootcmd: list[list[str]] = field(default_factory=list)

    def network_commands(self) -> list[list[str]]:
        """bootcmd then runcmd entries that only configure links, e.g. the web servers' MTU."""
        return [
            cmd
            for cmd in self.bootcmd + self.runcmd
            if NETWORK_ONLY.search(" ".join(cmd)) and not NOT_NETWORK.search(" ".join(cmd))
        ]

    def file(self, path: str) -> File | None:
        return next((f for f in self.files if f.path == path), None)

    def enabled_units(self) -> list[Unit]:
        """Units that runcmd starts with `systemctl enable --now` (or `start`), in that order."""
        out = []
        for cmd in self.runcmd:
            if cmd[:1] == ["systemctl"] and ("--now" in cmd or "start" in cmd):
                for name in (a for a in cmd[1:] if a.endswith(".service")):
                    unit_file = self.file(UNIT_DIR + name)
                    if unit_file is None:
                        raise BootError(f"runcmd starts {name}, which user data does not write")
                    out.append(parse_unit(name, unit_file.content.decode()))
        return out

    def unpacks(self) -> list[list[str]]:
        """The arguments of every runcmd entry that unpacks our appliance bundle exactly as the
        generator writes it (`python3 -c UNPACK_CODE TEXT DIR`); no other code is run."""
        return [
            cmd[3:]
            for cmd in self.runcmd
            if len(cmd) >= 4 and cmd[:2] == ["python3", "-c"] and cmd[2] == UNPACK_CODE
        ]

    def archives(self) -> list[tuple[str, str]]:
        """(archive path, directory) of every `tar -xf ARCHIVE -C DIR` in runcmd."""
        out = []
        for cmd in self.runcmd:
            if cmd[:1] == ["tar"] and "-xf" in cmd and "-C" in cmd:
                out.append((cmd[cmd.index("-xf") + 1], cmd[cmd.index("-C") + 1]))
        return out


def parse(user_data: str) -> Boot:
    """A cloud-config document; anything else (a Windows host, a shell script) boots nothing."""
    if not user_data.startswith("#cloud-config"):
        return Boot()
    try:
        doc = yaml.safe_load(user_data) or {}
    except yaml.YAMLError as exc:
        raise BootError(f"user data is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise BootError("user data is cloud-config but not a mapping")
    try:
        return _read(doc)
    except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
        if isinstance(exc, BootError):
            raise
        raise BootError(f"user data the lab cannot replay: {type(exc).__name__} {exc}") from None


def _read(doc: dict) -> Boot:
    boot = Boot()
    for item in doc.get("write_files") or []:
        content = item.get("content", "")
        encoding = item.get("encoding", "")
        if encoding in ("gz+b64", "gzip+base64", "gz+base64"):
            data = gzip.decompress(base64.b64decode(content))
        elif encoding in ("b64", "base64"):
            data = base64.b64decode(content)
        elif encoding:
            raise BootError(f"{item['path']}: unknown encoding {encoding!r}")
        else:
            data = content.encode()
        boot.files.append(File(item["path"], data, int(str(item.get("permissions", "0644")), 8)))
    for key, into in (("bootcmd", boot.bootcmd), ("runcmd", boot.runcmd)):
        for cmd in doc.get(key) or []:
            into.append([str(a) for a in cmd] if isinstance(cmd, list) else shlex.split(cmd))
    return boot


def parse_unit(name: str, text: str) -> Unit:
    pre, start, env = [], None, {}
    workdir = logs = None
    for raw in text.splitlines():
        line = raw.strip()
        key, sep, value = line.partition("=")
        if not sep or line.startswith(("#", ";")):
            continue
        if key == "ExecStartPre":
            pre.append(tuple(shlex.split(value.lstrip("-"))))
        elif key == "ExecStart":
            start = tuple(shlex.split(value))
        elif key == "WorkingDirectory":
            workdir = value
        elif key == "Environment":
            env.update(item.split("=", 1) for item in shlex.split(value) if "=" in item)
        elif key == "LogsDirectory":
            logs = value
    if start is None:
        raise BootError(f"{name} has no ExecStart")
    return Unit(name, tuple(pre), start, workdir, env, logs)


class Root:
    """A host's files under one directory: /etc/x becomes ROOT/etc/x in every path we run."""

    def __init__(self, base: Path):
        self.base = base

    def path(self, guest: str) -> Path:
        return self.base / guest.lstrip("/")

    def install(self, boot: Boot) -> None:
        for written in boot.files:
            target = self.path(written.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(written.content)
            target.chmod(written.mode)
        for archive, directory in boot.archives():
            dest = self.path(directory)
            dest.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(self.path(archive).read_bytes())) as tar:
                for member in tar.getmembers():
                    if member.name.startswith("/") or ".." in Path(member.name).parts:
                        raise BootError(f"{archive}: unsafe member {member.name}")
                    if not (member.isfile() or member.isdir()):
                        raise BootError(f"{archive}: {member.name} is not a file or directory")
                tar.extractall(dest)  # noqa: S202 - members checked above
        for args in boot.unpacks():
            moved = [str(self.path(a)) if a.startswith("/") else a for a in args]
            done = subprocess.run(
                [sys.executable, "-c", UNPACK_CODE, *moved],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                raise BootError(f"the appliance bundle did not unpack: {done.stderr.strip()}")

    def argv(self, argv: tuple[str, ...], python: str) -> list[str]:
        """The unit's command with its interpreter replaced and absolute paths moved under root."""
        out = []
        for i, arg in enumerate(argv):
            if i == 0 and Path(arg).name.startswith("python"):
                out.append(python)
            elif arg.startswith("/") and i > 0:
                out.append(str(self.path(arg)))
            else:
                out.append(arg)
        return out

    def environment(self, unit: Unit) -> dict[str, str]:
        env = {}
        for key, value in unit.environment.items():
            parts = value.split(":")
            env[key] = ":".join(str(self.path(p)) if p.startswith("/") else p for p in parts)
        return env

    def prepare(self, unit: Unit) -> None:
        if unit.logs_directory:
            self.path("/var/log/" + unit.logs_directory).mkdir(parents=True, exist_ok=True)
        if unit.working_directory:
            self.path(unit.working_directory).mkdir(parents=True, exist_ok=True)
