"""Frame size from the image header, read before anything is decoded.

``cv2.imdecode`` allocates the whole pixel buffer that the header announces, so a 1 MB PNG of
20000×20000 pixels costs 1.2 GB of memory before any size check on the decoded array can run (a
decompression bomb, issue 13). The PNG ``IHDR`` chunk and the JPEG start-of-frame segment state
width and height in their first bytes; reading them first lets the route refuse a frame at the cost
of a few bytes. A body whose header cannot be read is refused too: OpenCV would have to guess.
"""

from __future__ import annotations

import struct

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8"
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and the restart markers RST0–RST7.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class FrameTooLarge(ValueError):
    """The header announces more pixels than the service decodes."""


class UnreadableHeader(ValueError):
    """No PNG IHDR or JPEG start-of-frame where one must be."""


def frame_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` as the PNG or JPEG header states them, without decoding pixels."""
    if data.startswith(PNG_MAGIC):
        return _png_size(data)
    if data.startswith(JPEG_MAGIC):
        return _jpeg_size(data)
    raise UnreadableHeader("not a JPEG or PNG image")


def _png_size(data: bytes) -> tuple[int, int]:
    # The first chunk must be IHDR: length (4) "IHDR" (4) width (4) height (4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise UnreadableHeader("PNG without an IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk the marker segments (each says its own length) to the first start-of-frame."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise UnreadableHeader(f"JPEG marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            if pos + 9 > len(data) or length < 7:
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise UnreadableHeader("JPEG without a start-of-frame header")


def check_frame_size(data: bytes, max_side: int, max_pixels: int) -> tuple[int, int]:
    """The header's size when within both limits; :class:`FrameTooLarge` otherwise."""
    width, height = frame_size(data)
    if width == 0 or height == 0:
        raise UnreadableHeader(f"the header says {width}×{height} px")
    if max(width, height) > max_side:
        raise FrameTooLarge(f"frame is {width}×{height} px; the limit is {max_side} px a side")
    if width * height > max_pixels:
        raise FrameTooLarge(f"frame is {width}×{height} px; the limit is {max_pixels} pixels")
    return width, height
