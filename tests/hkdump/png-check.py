#!/usr/bin/env python3
"""Checks that a PNG screenshot shows something: at least MIN_INK of its pixels are not
white, and at least MIN_RED are the red of hkdump's event markers. Standard library only:
the IDAT chunks are inflated with zlib and each row unfiltered (PNG filters 0-4).

    png-check.py FILE.png [MIN_INK_SHARE [MIN_RED_PIXELS]]"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG file')
    pos, idat, hdr = 8, [], None
    while pos + 8 <= len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            hdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat.append(body)
        elif kind == b'IEND':
            break
        pos += 12 + n
    w, h, depth, color, _, _, interlace = hdr
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError('only 8-bit RGB or RGBA, not interlaced (depth %d, color type %d)'
                         % (depth, color))
    return w, h, 3 if color == 2 else 4, zlib.decompress(b''.join(idat))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def rows(w, h, bpp, raw):
    stride, prev, pos = w * bpp, bytearray(w * bpp), 0
    for _ in range(h):
        f, row = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if f == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 255
        elif f == 2:
            row = bytearray((x + y) & 255 for x, y in zip(row, prev))
        elif f == 3:
            for i in range(stride):
                row[i] = (row[i] + ((row[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + paeth(a, prev[i], c)) & 255
        yield row
        prev = row


def main():
    path = sys.argv[1]
    min_ink = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    min_red = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    w, h, bpp, raw = read_png(path)
    ink = red = 0
    for row in rows(w, h, bpp, raw):
        r, g, b = row[0::bpp], row[1::bpp], row[2::bpp]
        for x in range(w):
            if r[x] < 235 or g[x] < 235 or b[x] < 235:
                ink += 1
                if r[x] > 180 and g[x] < 80 and b[x] < 80:
                    red += 1
    share = ink / float(w * h)
    print('%s: %dx%d, %.1f %% not white, %d red pixels' % (path, w, h, 100 * share, red))
    if share < min_ink:
        print('FAIL: the page looks blank (at least %.0f %% expected)' % (100 * min_ink))
        return 1
    if red < min_red:
        print('FAIL: no red event marker (%d red pixels, at least %d expected)' % (red, min_red))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
