#!/usr/bin/env python3
"""Print-like test data for the benchmarks, the same bytes for the same seed.

usage: gendata.py print|random SIZE OUT [SEED]

"print" mixes what a terminal server's spooler sends to a raw printer:
PostScript text pages (about half), PCL raster blocks (a third: mostly
white rows, halftone and dithered areas) and embedded image data that
does not compress (the rest, as JPEG inside PostScript would be).
"random" is plain random bytes, for the cases without compression.
"""

import random
import sys

LETTERS = "etaoinshrdlucmfwypvbgkqjxz"


def _vocabulary(rng, n=3000):
    words = set()
    while len(words) < n:
        k = max(1, min(14, int(rng.gammavariate(2.2, 2.3))))
        words.add("".join(rng.choices(LETTERS, k=k)))
    words = sorted(words)
    rng.shuffle(words)
    weights = [1.0 / (r + 1) for r in range(n)]  # Zipf-like
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    return words, cum


def _ps_pages(rng, words, cum, size, page0):
    """PostScript text pages, about `size` bytes."""
    out, n, page = [], 0, page0
    fonts = ("Helvetica", "Times-Roman", "Courier", "Helvetica-Bold")
    while n < size:
        page += 1
        head = ("%%%%Page: %d %d\n%%%%BeginPageSetup\n/pagesave save def\n"
                "%%%%EndPageSetup\n/%s findfont 10 scalefont setfont\n"
                % (page, page, rng.choice(fonts)))
        lines = [head]
        y = 760
        while y > 40:
            k = rng.randint(6, 14)
            text = " ".join(rng.choices(words, cum_weights=cum, k=k))
            if rng.random() < 0.15:
                text = text.capitalize() + "."
            if rng.random() < 0.1:
                text += " %d,%02d EUR" % (rng.randint(1, 99999),
                                          rng.randint(0, 99))
            lines.append("%d %d moveto (%s) show\n"
                         % (rng.choice((54, 72, 90)), y, text))
            y -= 12
        lines.append("pagesave restore\nshowpage\n")
        page_text = "".join(lines).encode()
        out.append(page_text)
        n += len(page_text)
    return b"".join(out), page


def _pcl_raster(rng, size):
    """A PCL raster block: start graphics, rows, end graphics."""
    width = rng.choice((600, 1200, 2400)) // 8 * 8 // 8  # bytes per row
    out = [b"\x1b*t600R\x1b*r%dS\x1b*r1A" % (width * 8)]
    n = 0
    halftone = bytes([0xAA, 0x55]) * (width // 2 + 1)
    dither = bytes(rng.randrange(256) & 0x88 for _ in range(64)) * (width // 64 + 1)
    while n < size:
        row = bytearray(width)
        kind = rng.random()
        if kind < 0.55:  # text line: a few dense runs (glyphs)
            x = rng.randrange(width // 8)
            while x < width - 8:
                run = rng.randint(2, 24)
                row[x:x + run] = rng.randbytes(min(run, width - x))
                x += run + rng.randint(1, 40)
        elif kind < 0.75:  # halftone area
            a = rng.randrange(width // 2)
            b = a + rng.randrange(width - a)
            row[a:b] = halftone[a:b]
        elif kind < 0.85:  # dithered photo area, partly noisy
            a = rng.randrange(width // 2)
            b = a + rng.randrange(width - a)
            row[a:b] = dither[a:b]
            for _ in range(rng.randint(0, 8)):
                p = rng.randrange(width)
                row[p] = rng.randrange(256)
        # else: a white row
        rec = b"\x1b*b%dW" % width + bytes(row)
        out.append(rec)
        n += len(rec)
    out.append(b"\x1b*rC")
    return b"".join(out)


def generate(kind, size, seed=20261122):
    rng = random.Random("%s-%d" % (kind, seed))
    if kind == "random":  # in pieces: randbytes() takes at most 2^31 bits
        return b"".join(rng.randbytes(min(1 << 24, size - off))
                        for off in range(0, size, 1 << 24))
    words, cum = _vocabulary(rng)
    parts = [b"\x1b%-12345X@PJL JOB NAME=\"bench\"\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n"
             b"%!PS-Adobe-3.0\n%%Creator: opt bench\n%%Pages: (atend)\n"]
    n, page = len(parts[0]), 0
    while n < size:
        r = rng.random()
        seg = rng.randint(64 * 1024, 512 * 1024)
        if r < 0.50:
            data, page = _ps_pages(rng, words, cum, seg, page)
        elif r < 0.85:
            data = _pcl_raster(rng, seg)
        else:  # image data: as a JPEG in a PostScript image operator
            data = (b"%%BeginData: binary\n" + rng.randbytes(seg // 2)
                    + b"\n%%EndData\n")
        parts.append(data)
        n += len(data)
    return b"".join(parts)[:size]


def main(argv):
    if len(argv) not in (4, 5) or argv[1] not in ("print", "random"):
        sys.stderr.write("usage: gendata.py print|random SIZE OUT [SEED]\n")
        return 64
    seed = int(argv[4]) if len(argv) == 5 else 20261122
    data = generate(argv[1], int(argv[2]), seed)
    with open(argv[3], "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
