"""The reuseport steering program, run by a small classic-BPF interpreter written from the
filter(2)/bpf docs: both directions, fragments and quoting ICMP errors pick the same worker."""

import random
import struct

import pytest
from scapy.all import ICMP, IP, TCP, UDP, raw
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

from appliance.receiver import steering
from lab.geneve import aws_options, build


class OutOfBounds(Exception):
    pass


def run_cbpf(code: bytes, pkt: bytes) -> int:
    """Classic BPF over pkt (the UDP payload); a load past the end returns 0, as in Linux."""
    prog = [struct.unpack("HBBI", code[i : i + 8]) for i in range(0, len(code), 8)]
    a = x = pc = 0
    mem = [0] * 16

    def load(off, size):
        if off < 0 or off + size > len(pkt):
            raise OutOfBounds
        return int.from_bytes(pkt[off : off + size], "big")

    sizes = {0x00: 4, 0x08: 2, 0x10: 1}
    alu = {
        0x00: int.__add__,
        0x50: int.__and__,
        0x60: int.__lshift__,
        0x70: int.__rshift__,
        0x90: int.__mod__,
        0xA0: int.__xor__,
    }
    try:
        while True:
            op, jt, jf, k = prog[pc]
            pc += 1
            cls = op & 7
            if cls == 0:  # LD: absolute, indirect (X + k), scratch memory, immediate
                mode, size = op & 0xE0, sizes[op & 0x18]
                if mode == 0x20:
                    a = load(k, size)
                elif mode == 0x40:
                    a = load(x + k, size)
                else:
                    a = mem[k] if mode == 0x60 else k
            elif cls == 1:  # LDX from scratch memory
                assert op & 0xE0 == 0x60
                x = mem[k]
            elif cls == 2:
                mem[k] = a
            elif cls == 4:  # ALU with k or X
                a = alu[op & 0xF0](a, x if op & 8 else k) & 0xFFFFFFFF
            elif cls == 5:  # JMP: ja, jeq, jgt, jge
                j = op & 0xF0
                if j == 0x00:
                    pc += k
                else:
                    pc += jt if {0x10: a == k, 0x20: a > k, 0x30: a >= k}[j] else jf
            elif cls == 6:
                return a if op & 0x10 else k
            elif cls == 7:  # TXA or TAX
                if op & 0x80:
                    a = x
                else:
                    x = a
    except OutOfBounds:
        return 0


def gen(inner):
    proto = 0x86DD if isinstance(inner, IPv6) else 0x0800
    return build(raw(inner), proto, aws_options(1, 2, 3))


def hosts(rnd, v6=False):
    if v6:
        return f"fd00::{rnd.randrange(1, 65535):x}", f"2001:db8::{rnd.randrange(1, 65535):x}"
    return f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}", (
        f"198.18.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
    )


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_both_directions_fragments_and_errors_reach_one_worker(workers):
    code, rnd, used = steering(workers), random.Random(8), set()
    for _ in range(200):
        a, b = hosts(rnd)
        s, d = rnd.randrange(1024, 65535), rnd.randrange(1, 1024)
        out = IP(src=a, dst=b) / TCP(sport=s, dport=d, flags="S")
        w = run_cbpf(code, gen(out))
        used.add(w)
        assert 0 <= w < workers
        assert run_cbpf(code, gen(IP(src=b, dst=a) / TCP(sport=d, dport=s, flags="SA"))) == w
        assert run_cbpf(code, gen(IP(src=a, dst=b, frag=9, proto=17) / (b"x" * 8))) == w
        err = IP(src="192.0.2.1", dst=a) / ICMP(type=11) / raw(out)[:28]
        assert run_cbpf(code, gen(err)) == w
        opts = IP(src=b, dst=a, options=b"\x01\x01\x01\x00") / ICMP(type=3) / raw(out)[:28]
        assert run_cbpf(code, gen(opts)) == w
        assert run_cbpf(code, gen(IP(src=b, dst=a) / ICMP(type=0, id=s))) == w
        six, back = hosts(rnd, v6=True)
        v6 = IPv6(src=six, dst=back) / UDP(sport=s, dport=d)
        w6 = run_cbpf(code, gen(v6))
        used.add(w6)
        assert run_cbpf(code, gen(IPv6(src=back, dst=six) / UDP(sport=d, dport=s))) == w6
        big = IPv6(src="2001:db8::1", dst=six) / ICMPv6PacketTooBig() / raw(v6)[:48]
        assert run_cbpf(code, gen(big)) == w6
    assert used == set(range(workers))  # every worker gets a share


def test_short_or_garbage_datagrams_go_to_worker_0():
    code = steering(2)
    assert run_cbpf(code, b"") == 0
    assert run_cbpf(code, b"\x3f" + b"\0" * 20) == 0  # options longer than the datagram
