#!/usr/bin/env python3
"""How long this disk takes to make a write durable, as the store's commits need it: N
pages of 4 KiB written (in place, at random offsets or one after another) into a file
that already holds data, then fdatasync, about 200 times a second for a few seconds.
Prints the median, p90, p99 and worst time for each shape. Run it beside a latency
measurement: every IVR step waits for at least one such fdatasync.
  scripts/disk-sync.py [directory] [seconds per shape]"""
import os
import random
import sys
import tempfile
import time

where = sys.argv[1] if len(sys.argv) > 1 else "."
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 5
size = 64 << 20
fd, path = tempfile.mkstemp(dir=where, prefix="disk-sync.")
try:
    os.write(fd, b"\0" * size)
    os.fsync(fd)
    page = b"x" * 4096
    for pages, spread in ((1, False), (4, False), (15, False), (4, True), (15, True)):
        times, at = [], 0
        end = time.time() + secs
        while time.time() < end:
            began = time.perf_counter()
            for _ in range(pages):
                if spread:
                    os.pwrite(fd, page, random.randrange(size // 4096) * 4096)
                else:
                    os.pwrite(fd, page, at)
                    at = (at + 4096) % size
            os.fdatasync(fd)
            times.append(time.perf_counter() - began)
            time.sleep(0.004)
        times.sort()
        n = len(times)
        ms = [times[n // 2], times[int(n * 0.9)], times[int(n * 0.99)], times[-1]]
        shape = f"{pages} page{'s' if pages > 1 else ''} {'at random' if spread else 'in a row'}"
        print(f"{shape:>20} + fdatasync ({n}): median {ms[0] * 1e3:.3f}, p90 {ms[1] * 1e3:.3f}, "
              f"p99 {ms[2] * 1e3:.3f}, worst {ms[3] * 1e3:.3f} ms")
finally:
    os.close(fd)
    os.unlink(path)
