# test_relay_routing - where outbound mail goes, end to end through a
# real DNS server (dnsmasq) and two tern instances: B on 127.0.0.13:25
# and [::1]:25 (this file's addresses: no other e2e file uses them), A
# sending from 127.0.0.14 for IPv4 and ::1 for IPv6 ([queue]
# source_address, one per family). An exchanger with both an AAAA and an
# A record is reached over IPv6 first ([smtp] address_preference's
# default), from A's IPv6 source; a host whose IPv6 address refuses the
# connection is reached over IPv4, from A's IPv4 source; an MX whose
# exchange is written as an address (as Postfix, that address) and an MX
# naming a CNAME (followed) both deliver. B's Received header says which
# address A came from.
import os
import shutil
import signal
import socket
import uuid

import pytest

import tern_harness as th
from test_relay import ALICE, DNSMASQ, header_fields, start_dnsmasq, submit
from test_smtp import delivered

B_V4 = "127.0.0.13"
A_V4 = "127.0.0.14"


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not th.AS_ROOT or not os.path.exists(DNSMASQ)
                                or not has_ipv6_loopback(),
                                reason="needs root (port 25), dnsmasq and ::1")

DOMAINS = ("v6.test", "fb.test", "numeric.test", "cname.test")


@pytest.fixture(scope="module")
def peers():
    """(a, b): B takes mail for DOMAINS (bob@ each) on port 25 of
    127.0.0.13 and ::1, and on 127.0.0.13:FB_PORT, which the transport
    table names for fb.test (nothing listens on [::1]:FB_PORT)."""
    fb_port = th.free_port()
    a = th.Tern({"server.hostname": "mx.ra.test", "queue.relayhost": "",
                 "queue.source_address": "%s, ::1" % A_V4,
                 "queue.transport": "fb.test=dual.rt.test:%d/none" % fb_port})
    b = th.Tern({"server.hostname": "mx.rb.test", "queue.relayhost": ""})
    proc = folder = None
    try:
        a.enable_smtp()
        a.cmd("domain", "add", "a.test")
        a.cmd("user", "add", ALICE, input=th.PASSWORD + "\n")
        b.enable_smtp()
        b.sets["listen.smtp"] = "%s:25, [::1]:25, %s:%d" % (B_V4, B_V4, fb_port)
        for domain in DOMAINS:
            b.cmd("domain", "add", domain)
            b.cmd("user", "add", "bob@" + domain, input=th.PASSWORD + "\n")
        proc, port, folder = start_dnsmasq("unused.test.", "v=none", (
            "host-record=dual.rt.test,%s,::1" % B_V4,
            "mx-host=v6.test,dual.rt.test,10",
            # RFC 1035 3.3.9 wants a name; zones hold addresses all the same
            "mx-host=numeric.test,%s,10" % B_V4,
            "cname=alias.rt.test,dual.rt.test",
            "mx-host=cname.test,alias.rt.test,10",
        ))
        for t in (a, b):
            t.sets["dns.servers"] = "127.0.0.1:%d" % port
        b.start()
        a.start()
        yield a, b
    finally:
        problems = a.cleanup() + b.cleanup()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    assert not problems, "\n".join(problems)


def arrives_from(a, b, domain):
    """Submit to bob@domain on A; B's Received field of it."""
    mark = "rt-" + uuid.uuid4().hex[:12]
    rcpt = "bob@" + domain
    submit(a, mark, [rcpt])
    stored, = delivered(b, mark, rcpt, th.PASSWORD)
    a.wait_queue(lambda o: o.startswith("the queue is empty"))
    return header_fields(stored, b"Received")[0]


def test_ipv6_first_from_the_ipv6_source(peers):
    received = arrives_from(*peers, "v6.test")
    assert received.startswith(b"Received: from mx.ra.test ([IPv6:::1])"), received


def test_ipv4_when_ipv6_refuses(peers):
    """dual.rt.test:FB_PORT: [::1] refuses, 127.0.0.13 takes it, from
    A's IPv4 source."""
    received = arrives_from(*peers, "fb.test")
    assert received.startswith(b"Received: from mx.ra.test ([%s])" % A_V4.encode()), received


def test_mx_written_as_an_address(peers):
    received = arrives_from(*peers, "numeric.test")
    assert received.startswith(b"Received: from mx.ra.test ([%s])" % A_V4.encode()), received


def test_mx_naming_a_cname(peers):
    received = arrives_from(*peers, "cname.test")
    assert received.startswith(b"Received: from mx.ra.test ([IPv6:::1])"), received
