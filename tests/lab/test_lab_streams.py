"""The drill's long-lived flows (root, one namespace over loopback): answered streams count what
they sent and report no break; a stream whose server goes away is reported broken."""

import os
import subprocess
import time

import pytest
from lab_run import needs_root

from lab.streams import EchoServers, IcmpStream, TcpStream, UdpStream

pytestmark = needs_root
ADDRESS, PORT = "127.0.0.1", 7443


@pytest.fixture
def namespace():
    name = f"labstreams{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=True)


def _run(streams, seconds):
    for stream in streams:
        stream.start()
    time.sleep(seconds)
    for stream in streams:
        stream.stop_sending()


def test_answered_streams_count_and_do_not_break(namespace):
    servers = EchoServers(namespace, ADDRESS, PORT)
    try:
        streams = [kind(namespace, ADDRESS, ADDRESS, PORT) for kind in (TcpStream, UdpStream)]
        streams.append(IcmpStream(namespace, ADDRESS, ADDRESS, 0))
        _run(streams, 0.5)
        outcomes = [stream.finish(3.0) for stream in streams]
    finally:
        servers.close()
    assert [o.kind for o in outcomes] == ["TCP", "UDP", "ICMP"]
    for outcome in outcomes:
        assert outcome.sent > 1
        assert outcome.broke == ""
        assert outcome.lost == 0


def test_streams_whose_server_went_away_are_broken(namespace):
    servers = EchoServers(namespace, ADDRESS, PORT)
    streams = [kind(namespace, ADDRESS, ADDRESS, PORT) for kind in (TcpStream, UdpStream)]
    try:
        for stream in streams:
            stream.start()
        time.sleep(0.3)
    finally:
        servers.close()  # the TCP connection is shut down, the UDP server no longer answers
    time.sleep(1.5)
    for stream in streams:
        stream.stop_sending()
    tcp, udp = (stream.finish(1.0) for stream in streams)
    assert tcp.broke and udp.broke
    assert "last" in udp.broke  # its last messages went unanswered
    assert 0 < udp.lost < udp.sent  # the first ones were answered
