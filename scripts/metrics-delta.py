#!/usr/bin/env python3
"""What the service itself measured between two /metrics snapshots (Prometheus text): for the
group commits, for the requests of one route and for the HTTPS workers' timer lateness (a
blocked worker delays requests outside the route's own timing), how many, their mean, and
the share under each bucket's bound. Beside wrk's figures it tells the service's own time from the time the
requests spent elsewhere (the load generator, the host).
    scripts/metrics-delta.py BEFORE AFTER [ROUTE]      (ROUTE default: /v1/calls)"""
import re
import sys


def parse(path, route):
    hist = {}
    pattern = re.compile(
        r'(callvault_audit_commit_seconds|callvault_http_request_duration_seconds'
        r'|callvault_worker_lag_seconds)'
        r'_(bucket|sum|count)(\{.*\})? (\S+)')
    for line in open(path):
        m = pattern.match(line)
        if not m:
            continue
        name, kind, labels, value = m.groups()
        labels = labels or ''
        if 'route=' in labels and f'route="{route}"' not in labels:
            continue
        key = re.search(r'le="([^"]+)"', labels).group(1) if kind == 'bucket' else kind
        hist.setdefault(name, {})[key] = float(value)
    return hist


def main():
    route = sys.argv[3] if len(sys.argv) > 3 else '/v1/calls'
    before, after = parse(sys.argv[1], route), parse(sys.argv[2], route)
    labels = {'callvault_audit_commit_seconds': 'group commits',
              'callvault_http_request_duration_seconds': f'{route} as the service timed it',
              'callvault_worker_lag_seconds': 'HTTPS workers, lateness of a 10 ms timer'}
    for name in sorted(after):
        delta = {k: v - before.get(name, {}).get(k, 0) for k, v in after[name].items()}
        n = delta.get('count', 0)
        if n <= 0:
            continue
        bounds = sorted((k for k in delta if k not in ('sum', 'count', '+Inf')), key=float)
        shares = ', '.join(f'{float(k) * 1000:g} ms {delta[k] / n * 100:.1f} %'
                           for k in bounds if 0.001 <= float(k) <= 0.05)
        print(f'  service: {labels[name]}: {n:.0f}, mean {delta["sum"] / n * 1000:.2f} ms; '
              f'under {shares}')


main()
