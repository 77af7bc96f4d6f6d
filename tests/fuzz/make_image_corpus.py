# Writes fuzz_image's seed corpus: small PNGs (every colour type, 1/8/16-bit, palette with
# transparency, interlaced) built by hand with zlib, JPEGs made with TurboJPEG through ctypes,
# and a base64 string.   python3 tests/fuzz/make_image_corpus.py tests/fuzz/corpus/fuzz_image
import zlib, struct, ctypes, os, sys
out = sys.argv[1]
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def png(w, h, depth, ctype, rows, extra=b"", interlace=0):
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)) + extra +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
files = {}
files["gray8.png"] = png(4, 3, 8, 0, [bytes([x * 60 + y for x in range(4)]) for y in range(3)])
files["rgb8.png"] = png(3, 2, 8, 2, [bytes(range(y * 9, y * 9 + 9)) for y in range(2)])
files["rgba8.png"] = png(2, 2, 8, 6, [bytes(range(y * 8, y * 8 + 8)) for y in range(2)])
files["ga16.png"] = png(2, 1, 16, 4, [bytes([1, 2, 3, 4, 5, 6, 7, 8])])
files["pal_trns.png"] = png(2, 2, 8, 3, [b"\0\1", b"\1\0"], chunk(b"PLTE", b"\x10\x20\x30\xf0\xe0\xd0") + chunk(b"tRNS", b"\x80"))
files["gray1.png"] = png(9, 2, 1, 0, [b"\xaa\x80", b"\x55\x00"])
files["rgb16_interlaced.png"] = png(3, 3, 16, 2, [bytes(range(18)) for _ in range(3)], interlace=1)
tj = ctypes.CDLL("libturbojpeg.so.0")
tj.tjInitCompress.restype = ctypes.c_void_p
def jpeg(w, h, c, progressive=False):
    px = bytes((x * 7 + y * 11 + k * 50) % 256 for y in range(h) for x in range(w) for k in range(c))
    buf = ctypes.POINTER(ctypes.c_ubyte)(); size = ctypes.c_ulong(0)
    h_ = ctypes.c_void_p(tj.tjInitCompress())
    flags = 16384 if progressive else 0  # TJFLAG_PROGRESSIVE
    rc = tj.tjCompress2(h_, px, w, 0, h, 6 if c == 1 else 0, ctypes.byref(buf), ctypes.byref(size),
                        3 if c == 1 else 2, 90, flags)
    assert rc == 0
    data = ctypes.string_at(buf, size.value); tj.tjFree(buf); tj.tjDestroy(h_)
    return data
files["rgb420.jpg"] = jpeg(16, 16, 3)
files["gray.jpg"] = jpeg(8, 8, 1)
files["progressive.jpg"] = jpeg(24, 8, 3, True)
files["b64.txt"] = b"iVBORw0KGgo-_"
os.makedirs(out, exist_ok=True)
for n, d in files.items():
    open(os.path.join(out, n), "wb").write(d)
print(len(files), "files")
