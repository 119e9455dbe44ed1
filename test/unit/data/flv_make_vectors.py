#!/usr/bin/env python3
"""Writes the hand-built FLV golden vectors used by test/unit/test_flv.c.

Run from the repository root: python3 test/unit/data/flv_make_vectors.py
The outputs are committed; tests never run this. test_flv.c hard-codes what each file
must decode to, so a change here without a matching change there fails the tests.

flv_enhanced.flv  a well-formed FLV whose tags use every codec form libstream names:
                  Enhanced RTMP video (hvc1 with x265's real hvcC, av01, vp09: sequence
                  start, CodedFrames, CodedFramesX, ModEx, Multitrack, sequence end),
                  Enhanced RTMP audio (Opus, mp4a, Multitrack), legacy HEVC CodecID 12,
                  and an extended (> 24-bit) timestamp.
flv_sloppy.flv    what real files get wrong, all tolerated: DataOffset 13 with 4 junk
                  header bytes, PreviousTagSize0 = 7, a PreviousTagSize off by 6, a tag
                  of unknown type 15, reserved bits set in a TagType byte, a non-zero
                  StreamID, an empty script tag, a timestamp using TimestampExtended.
"""
import struct

HVCC = open("test/unit/data/codec_hevc_main_170x98.hvcc", "rb").read()


def header(flags=0x05, offset=9, junk=b"", prev0=0):
    return b"FLV" + bytes([1, flags]) + struct.pack(">I", offset) + junk + struct.pack(">I", prev0)


def tag(type_byte, ts, body, stream_id=0, prev=None):
    h = bytes([type_byte]) + struct.pack(">I", len(body))[1:] + struct.pack(">I", ts & 0xFFFFFF)[1:]
    h += bytes([(ts >> 24) & 0xFF]) + struct.pack(">I", stream_id)[1:]
    if prev is None:
        prev = 11 + len(body)
    return h + body + struct.pack(">I", prev)


def si24(v):
    return struct.pack(">i", v)[1:]


AMF_META = b"\x02\x00\x0aonMetaData\x08\x00\x00\x00\x00\x00\x00\x09"
OPUS_HEAD = b"OpusHead" + bytes([1, 2]) + struct.pack("<HIhB", 312, 48000, 0, 0)
AV1C = bytes([0x81, 0x00, 0x0C, 0x00])
VPCC = bytes([0x01, 0x00, 0x00, 0x00, 0x00, 0x1E, 0x10, 0x01, 0x01, 0x01, 0x00, 0x00])
IDR = struct.pack(">I", 4) + bytes([0x26, 0x01, 0xAF, 0x00])
TRAIL = struct.pack(">I", 3) + bytes([0x02, 0x01, 0xD0])

enhanced = header()
enhanced += tag(18, 0, AMF_META)
enhanced += tag(9, 0, b"\x90hvc1" + HVCC)                              # seq start
enhanced += tag(8, 0, b"\x90Opus" + OPUS_HEAD)                         # audio seq start
enhanced += tag(8, 0, b"\x90mp4a" + bytes([0x11, 0x90]))               # AAC via FourCC
enhanced += tag(9, 0, b"\x91hvc1" + si24(80) + IDR)                    # key, CTS 80
enhanced += tag(8, 20, b"\x91Opus" + bytes([0xFC, 0xFF, 0xFE]))        # coded frames
enhanced += tag(9, 40, b"\xa3hvc1" + TRAIL)                            # inter, CodedFramesX
enhanced += tag(9, 80, b"\xa7\x02\x00\x00\x64\x01hvc1" + si24(-40) + TRAIL)  # ModEx nano
enhanced += tag(9, 120, b"\x96\x01hvc1\x00" + si24(0) + IDR)           # multitrack key
enhanced += tag(8, 120, b"\x95\x01Opus\x00" + bytes([0xFC]))           # multitrack audio
enhanced += tag(9, 160, b"\x92hvc1")                                   # sequence end
enhanced += tag(9, 200, b"\x90av01" + AV1C)
enhanced += tag(9, 200, b"\x91av01" + bytes([0x12, 0x00, 0x0A, 0x0B]))
enhanced += tag(9, 240, b"\xa3av01" + bytes([0x32, 0x00]))
enhanced += tag(9, 280, b"\x90vp09" + VPCC)
enhanced += tag(9, 280, b"\x93vp09" + bytes([0x82, 0x49, 0x83]))
enhanced += tag(9, 320, b"\xa1vp09" + bytes([0x86, 0x00]))
enhanced += tag(9, 360, b"\x1c\x00" + si24(0) + HVCC)                  # legacy HEVC id 12
enhanced += tag(9, 360, b"\x1c\x01" + si24(40) + IDR)
enhanced += tag(9, 0x01000000 + 400, b"\x2c\x01" + si24(-40) + TRAIL)  # extended ts
open("test/unit/data/flv_enhanced.flv", "wb").write(enhanced)

sloppy = header(offset=13, junk=b"\xde\xad\xbe\xef", prev0=7)
sloppy += tag(8, 0, bytes([0xAF, 0x00, 0x12, 0x10]))
sloppy += tag(15, 5, bytes([1, 2, 3]))
sloppy += tag(0xC9, 0x20, bytes([0x17, 0x01, 0x00, 0x00, 0x00, 0xAA]), stream_id=1, prev=11)
sloppy += tag(18, 0x01FFFFFF, b"")
sloppy += tag(9, 0x12345678, bytes([0x27, 0x01, 0x00, 0x00, 0x00, 0xBB, 0xCC]))
open("test/unit/data/flv_sloppy.flv", "wb").write(sloppy)
