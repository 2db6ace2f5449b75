#!/usr/bin/env python3
"""The agent's lookup by caller ID when one number has called many times.

Starts and hangs up COUNT calls from one number, starts one more that stays live, then
times GET /v1/calls?ani=... with and without active=true and limit (20 requests each,
median), all on one keep-alive connection.

    callvault demo --listen 127.0.0.1:9443      # in another terminal; note its keys
    scripts/lookup-many.py CA_FILE IVR_KEY AGENT_KEY [COUNT] [PORT]
"""
import http.client
import json
import ssl
import sys
import time

ca, ivr, agent = sys.argv[1], sys.argv[2], sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
port = int(sys.argv[5]) if len(sys.argv) > 5 else 9443
number = "+16125550177"
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=ca))
ivr_h = {"Content-Type": "application/json", "Authorization": "Bearer " + ivr}


def send(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


for i in range(count):
    send("POST", "/v1/calls", json.dumps({"call_id": f"many-{i}", "ani": number}), ivr_h)
    send("DELETE", f"/v1/calls/many-{i}", headers=ivr_h)
send("POST", "/v1/calls", json.dumps({"call_id": "many-live", "ani": number}), ivr_h)
agent_h = {"Authorization": "Bearer " + agent}
for query in ["&active=true", "&active=true&limit=500", "", "&limit=500", "&limit=1"]:
    times = []
    for _ in range(20):
        t = time.perf_counter()
        body = send("GET", "/v1/calls?ani=%2B" + number[1:] + query, headers=agent_h)
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"{query or '(defaults)':24} {len(json.loads(body)):4} calls, "
          f"{len(body):8} bytes, median {times[10] * 1000:.1f} ms")
