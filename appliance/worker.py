"""One data-plane worker process: receive, decide, reply; publishes counters and a heartbeat."""

import contextlib
import ctypes
import os
import signal
import time
from typing import Any

from . import receiver
from .flows import FlowTable
from .handler import ACTIVE, COUNTERS, ERROR, RETURNED, SEND_ERROR, Handler
from .policy import Policy
from .sender import RawSender

TICK = 0.25
_N = len(COUNTERS)


class FlowLog:
    """Buffers lines and appends them in one write per tick, so workers never interleave lines."""

    def __init__(self, dest: str, limit: int = 4096):
        self.dest = dest
        self.lines: list = []
        self.limit = limit
        self.dropped = 0

    def add(self, line: str) -> None:
        if len(self.lines) >= self.limit:
            self.flush()
        self.lines.append(line)

    def flush(self) -> None:
        if not self.lines:
            return
        data = "".join(self.lines).encode()
        self.lines = []
        if self.dest == "-":
            os.write(1, data)
            return
        # Reopened each time so log rotation by rename needs no signal.
        fd = os.open(self.dest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _die_with_parent() -> None:
    # Best effort: if it fails, systemd's control-group kill still covers orphans.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run(index: int, cfg: Any, policy: Policy, shared: Any, beats: Any) -> None:
    """Loop forever; cfg has geneve_port, flow_table_size, flow_log."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sock = receiver.open_socket(cfg.geneve_port)
    sender = RawSender()
    log = FlowLog(cfg.flow_log)
    h = Handler(policy, FlowTable(cfg.flow_table_size), log.add)
    base = index * _N
    c = h.counters
    c[:] = shared[base : base + _N]  # a restarted worker continues its predecessor's totals
    c[ACTIVE] = 0
    recv, handle, reply, port = sock.recvmsg_into, h.handle, sender.reply, cfg.geneve_port
    local_address, monotonic = receiver.local_address, time.monotonic
    # One preallocated buffer: recvmsg(65535) would allocate and shrink 64 KiB per packet.
    buf = bytearray(receiver.RECV_SIZE)
    bufs, view, anc = [buf], memoryview(buf), receiver.ANC_SIZE
    next_tick = 0.0
    while True:
        try:
            n, ancdata, _, peer = recv(bufs, anc)
            data = bytes(view[:n])
        except (BlockingIOError, InterruptedError):
            data = None
        now = monotonic()
        if data is not None and handle(data, now):
            try:
                reply(data, local_address(ancdata), peer, port)
                c[RETURNED] += 1
            except OSError:
                c[SEND_ERROR] += 1
            except Exception:
                c[ERROR] += 1
        if now >= next_tick:
            next_tick = now + TICK
            try:
                h.table.expire(now)
                h.sync_flow_counters()
                log.flush()
            except Exception:
                c[ERROR] += 1
            shared[base : base + _N] = c
            beats[index] = now
