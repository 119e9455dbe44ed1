#!/usr/bin/env python3
"""fakedns.py — a DNS server for the integration tests (UDP, standard library only).

    fakedns.py PORTFILE NAME=IP...

Binds 127.0.0.1 on a free port and writes "127.0.0.1:PORT" to PORTFILE. A query (A or
AAAA) for a NAME given on the command line is answered: A with its IPv4 address, AAAA
with no data. A name starting with "silent" is never answered (the query is dropped:
a nameserver that does not reply). Every other name gets NXDOMAIN. Runs until killed.
"""
import socket
import struct
import sys


def qname(packet):
    """The question's name (text) and the offset just past the question, or None."""
    off, labels = 12, []
    while off < len(packet):
        n = packet[off]
        if n == 0:
            return ".".join(labels), off + 5
        if n > 63 or off + 1 + n > len(packet):
            return None
        labels.append(packet[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return None


def main():
    names = {}
    for arg in sys.argv[2:]:
        name, ip = arg.split("=", 1)
        names[name.lower()] = socket.inet_aton(ip)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(sys.argv[1], "w") as f:
        f.write("127.0.0.1:%d\n" % sock.getsockname()[1])
    while True:
        packet, peer = sock.recvfrom(512)
        parsed = qname(packet) if len(packet) >= 12 else None
        if parsed is None or parsed[1] > len(packet):
            continue
        name, end = parsed
        if name.lower().startswith("silent"):
            continue
        qtype = struct.unpack(">H", packet[end - 4:end - 2])[0]
        ip = names.get(name.lower())
        answers = b""
        if ip is not None and qtype == 1:
            answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + ip
        flags = 0x8180 if ip is not None else 0x8183
        header = packet[:2] + struct.pack(">HHHHH", flags, 1, 1 if answers else 0, 0, 0)
        sock.sendto(header + packet[12:end] + answers, peer)


if __name__ == "__main__":
    main()
