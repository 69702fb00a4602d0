"""encoders.py - writes degraded frames with REAL encoders through the
ffmpeg CLI: libx264 yuv420p MP4, GIF with palettegen/paletteuse dithering,
lossy animated WebP with libwebp_anim; and the ground truth as a lossless
animated WebP with one stored frame per video frame (containers.webp_mux).
Every encoder is run single-threaded with fixed options so a rebuild is
byte-identical on the same ffmpeg version. Frame timing is set exactly by
patching the container delays afterwards. Not a renderer (degrade.py)."""

import json
import os
import subprocess

import numpy as np

import containers
import evcommon as ev


def _ffmpeg_rgb(frames, fps, pix_in, out_args, path):
    """Pipes (N, H, W, C) uint8 frames to ffmpeg as rawvideo."""
    n, h, w, c = frames.shape
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo",
           "-pix_fmt", pix_in, "-s", "%dx%d" % (w, h), "-framerate", str(fps),
           "-i", "-"] + out_args + [path]
    ev.run(cmd, stdin_bytes=np.ascontiguousarray(frames).tobytes())


def encode_mp4(frames, path, fps, crf, preset="medium", colorspace="bt601"):
    """H.264 (libx264) yuv420p MP4 at a constant fps. frames (N, H, W, 4)
    or (N, H, W, 3) uint8 with even H and W. colorspace: 'bt601' (swscale's
    default, untagged) or 'bt709' (converted with the BT.709 matrix and
    tagged, as AI video services write)."""
    rgb = np.ascontiguousarray(frames[..., :3])
    if colorspace == "bt709":
        vf = ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
              "-colorspace", "bt709", "-color_primaries", "bt709",
              "-color_trc", "bt709", "-color_range", "tv"]
    else:
        vf = ["-vf", "format=yuv420p"]
    args = vf + ["-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                 "-threads", "1", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                 "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", "-an"]
    _ffmpeg_rgb(rgb, fps, "rgb24", args, path)


def encode_gif(frames, path, delays_cs, max_colors=256, dither="sierra2_4a",
               bayer_scale=2, stats_mode="full", transparent=False):
    """GIF through palettegen + paletteuse with a dither mode. frames
    (N, H, W, 4) uint8; with transparent=True pixels of alpha < 128 map to
    the reserved transparent index. stats_mode 'single' makes one palette
    per frame (paletteuse new=1). Delays patched to delays_cs exactly."""
    pg = "palettegen=max_colors=%d:reserve_transparent=%d:stats_mode=%s" % (
        max_colors, 1 if transparent else 0, stats_mode)
    pu = "paletteuse=dither=%s:alpha_threshold=128" % dither
    if dither == "bayer":
        pu += ":bayer_scale=%d" % bayer_scale
    if stats_mode == "single":
        pu += ":new=1"
    graph = "split[a][b];[a]%s[p];[b][p]%s" % (pg, pu)
    tmp = path + ".tmp.gif"
    _ffmpeg_rgb(frames, 10, "rgba", ["-lavfi", graph, "-loop", "0", "-f", "gif"], tmp)
    with open(tmp, "rb") as f:
        data = f.read()
    os.remove(tmp)
    data = containers.gif_set_delays(data, delays_cs)
    with open(path, "wb") as f:
        f.write(data)


def encode_webp(frames, path, durations_ms, quality, method=4):
    """Lossy animated WebP through ffmpeg's libwebp_anim (WebPAnimEncoder,
    lossless=0). WebPAnimEncoder merges identical consecutive frames; then
    the frames are encoded one by one with libwebp (Pillow) and muxed so
    the frame count stays exact. Returns the encoder actually used."""
    tmp = path + ".tmp.webp"
    _ffmpeg_rgb(frames, 10, "rgba",
                ["-c:v", "libwebp_anim", "-lossless", "0", "-quality", str(quality),
                 "-compression_level", str(method), "-loop", "0", "-f", "webp"], tmp)
    with open(tmp, "rb") as f:
        data = f.read()
    os.remove(tmp)
    if len(containers.webp_anmf(data)) == len(frames):
        data = containers.webp_set_durations(data, durations_ms)
        used = "ffmpeg libwebp_anim"
    else:
        data = containers.webp_mux(list(frames), durations_ms, lossless=False,
                                   quality=quality, method=method)
        used = "libwebp per frame (Pillow) + own mux"
    with open(path, "wb") as f:
        f.write(data)
    return used


def write_gt(frames, path, durations_ms):
    """Lossless animated WebP, exact RGBA, one ANMF per frame (held frames
    repeat)."""
    data = containers.webp_mux(list(frames), durations_ms, lossless=True, method=4)
    with open(path, "wb") as f:
        f.write(data)


def probe_frames(path):
    """(frame count, width, height) of a file as ffprobe reads it (MP4), or
    from the container (GIF, WebP)."""
    if path.endswith(".gif") or path.endswith(".webp"):
        fr, _ = containers.read_anim(path)
        return fr.shape[0], fr.shape[2], fr.shape[1]
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames,width,height",
                          "-of", "json", path], stdout=subprocess.PIPE, check=True).stdout
    st = json.loads(out)["streams"][0]
    return int(st["nb_read_frames"]), int(st["width"]), int(st["height"])
