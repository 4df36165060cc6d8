#!/usr/bin/env python3
"""Write N deterministic, realistic WeChat OpenIDs to a file, one a line.

Each OpenID is 28 characters: the prefix ``o4WmZ0`` (as the OpenIDs of one official
account share a prefix) and 22 characters of ``A-Za-z0-9_-``. The same arguments always
give the same file, byte for byte.

    gen-openids.py N PATH [--seed S] [--duplicates FRACTION]

``--duplicates 0.1`` makes 10% of the lines repeat an earlier OpenID (spread through the
file), to exercise de-duplication; the default is 0 (all distinct). One million lines take
about a second.
"""

import argparse
import base64
import random
import sys

PREFIX = b"o4WmZ0"
BODY = 22          # characters after the prefix
RAW = 18           # random bytes per OpenID: base64 of 18 bytes is 24 characters, 22 are kept
CHUNK = 100_000    # OpenIDs generated and written at a time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of lines to write")
    parser.add_argument("path", help="output file ('-' for standard output)")
    parser.add_argument("--seed", type=int, default=20261201, help="random seed (default: 20261201)")
    parser.add_argument("--duplicates", type=float, default=0.0,
                        help="fraction of lines that repeat an earlier OpenID (default: 0)")
    args = parser.parse_args()
    if args.count < 0:
        parser.error("count must be at least 0")
    if not 0.0 <= args.duplicates < 1.0:
        parser.error("--duplicates must be in [0, 1)")

    rng = random.Random(args.seed)
    duplicate_rng = random.Random(args.seed + 1)
    out = sys.stdout.buffer if args.path == "-" else open(args.path, "wb")
    written = 0
    history = []  # distinct OpenIDs so far, only kept when duplicates are asked for
    try:
        while written < args.count:
            n = min(CHUNK, args.count - written)
            encoded = base64.urlsafe_b64encode(rng.randbytes(RAW * n))
            step = RAW // 3 * 4
            lines = [PREFIX + encoded[i:i + BODY] for i in range(0, n * step, step)]
            if args.duplicates > 0:
                for i in range(n):
                    if (history or i > 0) and duplicate_rng.random() < args.duplicates:
                        pool_size = len(history) + i
                        pick = duplicate_rng.randrange(pool_size)
                        lines[i] = history[pick] if pick < len(history) else lines[pick - len(history)]
                history.extend(lines)
            lines.append(b"")
            out.write(b"\n".join(lines))
            written += n
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
