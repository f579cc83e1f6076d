"""Namespace primitives: run `ip`/`nft`/sysctl inside a namespace, and create sockets and TUN
devices that belong to a namespace while the calling thread stays where it is."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
import subprocess

CLONE_NEWNET = 0x40000000
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
_libc = ctypes.CDLL(None, use_errno=True)


class CommandError(RuntimeError):
    pass


def run(argv: list[str], stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise CommandError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def ip(ns: str | None, *args: str) -> str:
    return run(["ip", *(["-n", ns] if ns else []), *args])


def ip_batch(ns: str, lines: list[str]) -> None:
    """Many `ip` commands in one process: the lab creates hundreds of links, rules and routes."""
    if lines:
        run(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(lines) + "\n")


def sysctl(ns: str, **settings: str) -> None:
    for key, value in settings.items():
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key.replace('__', '.')}={value}"])


def nft(ns: str, ruleset: str) -> None:
    run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin=ruleset)


@contextlib.contextmanager
def inside(ns: str):
    """This thread is in ns for the block; sockets made here belong to ns for their whole life."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(there, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        try:
            yield
        finally:
            if _libc.setns(here, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(here)
        os.close(there)


def socket_in(
    ns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, proto: int = 0
) -> socket.socket:
    with inside(ns):
        return socket.socket(family, kind, proto)


def tun_in(ns: str, name: str) -> int:
    """A TUN device (IP packets, no extra header) created in ns; returns its file descriptor."""
    with inside(ns):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
        except OSError:
            os.close(fd)
            raise
    os.set_blocking(fd, False)
    return fd
