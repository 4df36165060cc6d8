#!/usr/bin/env python3
"""The peer for the validate benchmark: what a script would use.

Usage: peer.py [-q] FILE...  |  peer.py [-q] -l LIST

For each file (named on argv, or listed one per line in LIST), in this one process:
read it as UTF-8 and build the node graph with yaml.compose(text, Loader=yaml.CSafeLoader)
(PyYAML over libyaml). No schema checks, no model. Exit 1 on the first parse error,
naming the file; 2 on a usage or I/O error.
"""
import sys

import yaml


def main(argv):
    quiet = False
    paths = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-q":
            quiet = True
        elif a == "-l" and i + 1 < len(argv):
            i += 1
            with open(argv[i], encoding="utf-8") as f:
                paths.extend(line.rstrip("\r\n") for line in f if line.strip())
        elif a == "--":
            paths.extend(argv[i + 1:])
            break
        elif a.startswith("-") and a != "-":
            print("usage: peer.py [-q] FILE... | peer.py [-q] -l LIST", file=sys.stderr)
            return 2
        else:
            paths.append(a)
        i += 1
    if not paths:
        print("usage: peer.py [-q] FILE... | peer.py [-q] -l LIST", file=sys.stderr)
        return 2

    loader = yaml.CSafeLoader  # fail loudly if PyYAML was built without libyaml
    nodes = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            print(f"peer: {path}: {e}", file=sys.stderr)
            return 2
        try:
            node = yaml.compose(text, Loader=loader)
        except yaml.YAMLError as e:
            print(f"peer: {path}: parse error: {e}", file=sys.stderr)
            return 1
        nodes += node is not None
    if not quiet:
        print(f"peer: {len(paths)} files, {nodes} documents")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
