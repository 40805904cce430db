#!/usr/bin/env python3
"""Where the CPU time of a `datavern bench` run goes, by component.

Reads `perf script` output of a system-wide profile (`perf record -a -g`, see `profile.sh`)
on stdin (the bench's process id as the only argument) and prints, for the samples of each process, the share of each component: the
database server (PostgreSQL, MariaDB), and inside datavern's process the SQLite engine,
HTTP (hyper, axum, reqwest: client and server both run in the bench process), JSON,
cryptography (aws-lc), the sqlx drivers, the tokio runtime, the allocator, the kernel and
datavern's own code. A sample is counted for the innermost frame that belongs to a known
component, so a `memcpy` called by serde_json counts as JSON.
"""

import collections
import re
import sys

# (component, pattern on a frame's symbol or library), first match wins; checked from the
# innermost frame outwards.
COMPONENTS = [
    ("SQLite engine", re.compile(r"^(sqlite3|pcache|btree|vdbe|wal|pager|unixRead|unixWrite|"
                                 r"getCellInfo|balance|insertCell|moveToChild|accessPayload)",
                                 re.I)),
    ("crypto (aws-lc)", re.compile(r"aws_lc|aes_|gcm_|sha256|hmac|hkdf|ChaCha|GFp_|"
                                   r"aes_hw|beeu|ecp_nistz|x25519|ed25519", re.I)),
    ("JSON (serde_json)", re.compile(r"serde_json")),
    ("HTTP (hyper, axum, reqwest, tower)", re.compile(
        r"hyper|axum|reqwest|tower|h2::|http::|httparse|matchit")),
    ("sqlx drivers", re.compile(r"sqlx|sea_query|sea_query_binder")),
    ("audit, records, access (datavern)", re.compile(r"datavern")),
    ("tracing, metrics", re.compile(r"tracing|metrics")),
    ("key cache (moka)", re.compile(r"moka|crossbeam|quanta")),
    ("tokio runtime", re.compile(r"tokio|mio::|parking_lot|futex")),
    ("allocator, memcpy", re.compile(r"malloc|_int_free|cfree|free@|_int_malloc|realloc|"
                                     r"memmove|memcpy|memset|unlink_chunk|consolidate")),
]

KERNEL = "kernel (syscalls, network, scheduling)"
OTHER = "other"


def classify(frames):
    """The component of a sample whose frames (innermost first) are given."""
    for symbol, _ in frames:
        for name, pattern in COMPONENTS:
            if pattern.search(symbol):
                return name
    if frames and frames[0][1].startswith("[kernel"):
        return KERNEL
    return OTHER


def samples(lines):
    """(command, pid, frames) per sample of `perf script` output."""
    process, pid, frames = None, None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if process is not None:
                yield process, pid, frames
            process, pid, frames = None, None, []
        elif not line.startswith((" ", "\t")):
            # "<command> <pid>/<tid> ..." or "<command> <pid> ..."
            match = re.match(r"^(.*?)\s+(\d+)(?:/\d+)?\s", line)
            process, pid, frames = (match.group(1), match.group(2), []) if match else (line, "", [])
        else:
            parts = line.strip().split(None, 1)
            rest = parts[1] if len(parts) > 1 else ""
            library = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else ""
            symbol = rest[:rest.rfind("(")].strip() if library else rest
            frames.append((symbol, library))
    if process is not None:
        yield process, pid, frames


def main():
    bench_pid = sys.argv[1] if len(sys.argv) > 1 else None
    rows = collections.Counter()
    for process, pid, frames in samples(sys.stdin):
        if process.startswith("postgres"):
            component = "PostgreSQL server"
        elif process.startswith(("mariadbd", "mysqld")):
            component = "MariaDB server"
        elif bench_pid is not None and pid != bench_pid:
            component = "other processes"
        else:
            component = classify(frames)
        rows[component] += 1
    total = sum(rows.values())
    if total == 0:
        sys.exit("no samples: was perf script output given on stdin?")
    print(f"{'component':<42} {'share':>7}")
    for component, count in rows.most_common():
        print(f"{component:<42} {100 * count / total:>6.1f}%")
    print(f"{'(samples)':<42} {total:>7}")


if __name__ == "__main__":
    main()
