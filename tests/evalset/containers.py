"""containers.py - byte-level GIF and WebP container work: list and patch
GIF frame delays, list and patch WebP ANMF durations, and mux animated
WebP files from single-image WebP bitstreams so that identical consecutive
frames stay separate frames (libwebp's WebPAnimEncoder merges them into one
longer frame, which would break index-by-index ground truth).
Sources: GIF89a specification (blocks, Graphic Control Extension); Google's
"WebP Container Specification" (RIFF, VP8X, ANIM, ANMF). Not a codec: pixel
data is encoded by libwebp through Pillow, or by ffmpeg."""

import io
import struct

import numpy as np
from PIL import Image

# ---- GIF -----------------------------------------------------------------


def _gif_skip_subblocks(b, i):
    while True:
        n = b[i]
        i += 1
        if n == 0:
            return i
        i += n


def gif_frames(data):
    """Walks a GIF89a byte string. Returns a list of dicts, one per image:
    {'gce': offset of the GCE block or None, 'delay_cs': int}. Raises
    ValueError when the structure is broken."""
    b = data
    if b[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    flags = b[10]
    i = 13
    if flags & 0x80:
        i += 3 * (2 << (flags & 7))
    frames, pending = [], None
    while i < len(b):
        t = b[i]
        if t == 0x3B:                       # trailer
            return frames
        if t == 0x21:                       # extension
            label = b[i + 1]
            if label == 0xF9 and b[i + 2] == 4:
                pending = i
            i = _gif_skip_subblocks(b, i + 2)
        elif t == 0x2C:                     # image descriptor
            pf = b[i + 9]
            i += 10
            if pf & 0x80:
                i += 3 * (2 << (pf & 7))
            i += 1                          # LZW minimum code size
            i = _gif_skip_subblocks(b, i)
            delay = None
            if pending is not None:
                delay = struct.unpack_from("<H", b, pending + 4)[0]
            frames.append({"gce": pending, "delay_cs": delay})
            pending = None
        else:
            raise ValueError("bad GIF block 0x%02x at %d" % (t, i))
    raise ValueError("GIF without trailer")


def gif_set_delays(data, delays_cs):
    """Returns a copy of the GIF with frame k's GCE delay set to
    delays_cs[k] (centiseconds). Every frame must carry a GCE."""
    frames = gif_frames(data)
    if len(frames) != len(delays_cs):
        raise ValueError("GIF has %d frames, %d delays given"
                         % (len(frames), len(delays_cs)))
    out = bytearray(data)
    for fr, d in zip(frames, delays_cs):
        if fr["gce"] is None:
            raise ValueError("GIF frame without a Graphic Control Extension")
        struct.pack_into("<H", out, fr["gce"] + 4, int(d))
    return bytes(out)


# ---- WebP ----------------------------------------------------------------


def _chunks(data, start, end):
    i = start
    while i + 8 <= end:
        fourcc = data[i:i + 4]
        size = struct.unpack_from("<I", data, i + 4)[0]
        yield fourcc, i, size
        i += 8 + size + (size & 1)


def webp_anmf(data):
    """Returns [(offset of the ANMF chunk, duration_ms)] of an animated WebP
    (empty for a still image). Raises ValueError if not RIFF/WEBP."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
    out = []
    for fourcc, off, size in _chunks(data, 12, len(data)):
        if fourcc == b"ANMF":
            d = data[off + 8 + 12:off + 8 + 15]
            out.append((off, d[0] | d[1] << 8 | d[2] << 16))
    return out


def webp_set_durations(data, durations_ms):
    """Returns a copy of an animated WebP with frame k's duration set."""
    fr = webp_anmf(data)
    if len(fr) != len(durations_ms):
        raise ValueError("WebP has %d frames, %d durations given"
                         % (len(fr), len(durations_ms)))
    out = bytearray(data)
    for (off, _), d in zip(fr, durations_ms):
        d = int(d)
        if not 0 < d < (1 << 24):
            raise ValueError("bad duration %d" % d)
        out[off + 20:off + 23] = bytes((d & 255, d >> 8 & 255, d >> 16 & 255))
    return bytes(out)


def _u24(v):
    return bytes((v & 255, v >> 8 & 255, v >> 16 & 255))


def _chunk(fourcc, payload):
    pad = b"\0" if len(payload) & 1 else b""
    return fourcc + struct.pack("<I", len(payload)) + payload + pad


def _frame_bitstream(img, lossless, quality, method):
    """Encodes one RGBA frame as a still WebP with libwebp (via Pillow) and
    returns the chunks an ANMF payload needs (ALPH+VP8 or VP8L)."""
    buf = io.BytesIO()
    if lossless:
        img.save(buf, "WEBP", lossless=True, quality=100, method=method,
                 exact=True)          # keep RGB under alpha 0 too: exact RGBA
    else:
        img.save(buf, "WEBP", lossless=False, quality=quality, method=method)
    data = buf.getvalue()
    parts = []
    for fourcc, off, size in _chunks(data, 12, len(data)):
        if fourcc in (b"ALPH", b"VP8 ", b"VP8L"):
            parts.append(data[off:off + 8 + size + (size & 1)])
    if not parts:
        raise ValueError("libwebp produced no bitstream")
    return b"".join(parts)


def webp_mux(frames, durations_ms, lossless=True, quality=80, method=4,
             loop=0):
    """Muxes RGBA frames (each (H, W, 4) uint8, same size) into an animated
    WebP, one ANMF per frame, full canvas, no blending, no disposal, so
    every frame is stored and decodes to exactly its own pixels (lossless)
    or to its own lossy reconstruction. Returns the file bytes."""
    if not frames or len(frames) != len(durations_ms):
        raise ValueError("need one duration per frame")
    h, w = frames[0].shape[:2]
    body = []
    has_alpha = False
    for fr, d in zip(frames, durations_ms):
        if fr.shape != (h, w, 4):
            raise ValueError("frame size changes")
        has_alpha |= bool((fr[..., 3] != 255).any())
        bits = _frame_bitstream(Image.fromarray(np.ascontiguousarray(fr), "RGBA"),
                                lossless, quality, method)
        head = _u24(0) + _u24(0) + _u24(w - 1) + _u24(h - 1) + _u24(int(d)) \
            + bytes((0x02,))                # bit 1: do not blend; bit 0: no dispose
        body.append(_chunk(b"ANMF", head + bits))
    vp8x = bytes((0x02 | (0x10 if has_alpha else 0), 0, 0, 0)) \
        + _u24(w - 1) + _u24(h - 1)
    anim = struct.pack("<IH", 0, loop)      # background BGRA 0, loop count
    payload = b"WEBP" + _chunk(b"VP8X", vp8x) + _chunk(b"ANIM", anim) \
        + b"".join(body)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


# ---- decoding (verification only) --------------------------------------


def read_anim(path):
    """Decodes a GIF or WebP with Pillow into (frames (N, H, W, 4) uint8,
    durations_ms list). Frames are full composited canvases. Used to check
    what the encoders wrote; pixelfix has its own decoders."""
    im = Image.open(path)
    frames, durs = [], []
    n = getattr(im, "n_frames", 1)
    for k in range(n):
        im.seek(k)
        frames.append(np.array(im.convert("RGBA")))
        durs.append(int(im.info.get("duration", 0)))
    return np.stack(frames), durs
