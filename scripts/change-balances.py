#!/usr/bin/env python3
"""Copy a pre-enrollment file with every member's savings balance one dollar higher: a daily
file in which every row changes. Used by bench-enroll.sh and writer-stall.sh.

    scripts/change-balances.py members.csv changed.csv
"""
import csv
import sys

with open(sys.argv[1], newline="") as src, open(sys.argv[2], "w", newline="") as dst:
    rows, out = csv.reader(src), csv.writer(dst)
    header = next(rows)
    out.writerow(header)
    at = header.index("savings_balance")
    for row in rows:
        try:
            row[at] = "%.2f" % (float(row[at] or 0) + 1)
        except (ValueError, IndexError):
            pass  # a bad row stays as bad as it was
        out.writerow(row)
