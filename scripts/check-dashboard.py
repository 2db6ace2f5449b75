#!/usr/bin/env python3
"""Check the Grafana dashboard the packages ship (packaging/grafana/callvault-dashboard.json).

Every panel's PromQL, with the dashboard's variables given values ($__rate_interval as 1m,
$instance as any instance):

  check-dashboard.py rules OUT.yml    writes them as recording rules, for
                                      `promtool check rules OUT.yml` to parse (CI)
  check-dashboard.py query URL        asks the Prometheus at URL for each, and says which
                                      answer series and which none (by hand, against a
                                      Prometheus scraping a service that took calls)

Standard library only.
"""
import json
import pathlib
import sys
import urllib.parse
import urllib.request

DASHBOARD = pathlib.Path(__file__).resolve().parent.parent / "packaging/grafana/callvault-dashboard.json"
VALUES = {"$__rate_interval": "1m", '"$instance"': '".*"'}


def queries(dashboard):
    """(panel title, refId, PromQL) for every target of every panel, variables filled in."""
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in VALUES.items():
                expr = expr.replace(name, value)
            if "$" in expr:
                sys.exit(f"{panel['title']}: a variable this script gives no value: {expr}")
            out.append((panel["title"], target["refId"], expr))
    return out


def write_rules(found, path):
    lines = ["# written by scripts/check-dashboard.py from the dashboard's panels", "groups:",
             "  - name: callvault-dashboard", "    rules:"]
    for n, (title, ref, expr) in enumerate(found):
        lines.append(f"      # {title} ({ref})")
        lines.append(f"      - record: dashboard_panel_{n}")
        lines.append(f"        expr: {json.dumps(expr)}")
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    print(f"{len(found)} queries written to {path}")


def ask(found, url):
    empty, failed = [], []
    for title, ref, expr in found:
        query = urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as answer:
                body = json.load(answer)
        except OSError as e:
            failed.append((title, ref, str(e)))
            continue
        if body.get("status") != "success":
            failed.append((title, ref, body.get("error", body)))
            continue
        series = body["data"]["result"]
        print(f"{len(series):4} series  {title} ({ref})")
        if not series:
            empty.append((title, ref))
    print(f"{len(found)} queries: {len(found) - len(empty) - len(failed)} with series, "
          f"{len(empty)} with none, {len(failed)} failed")
    for title, ref, error in failed:
        print(f"failed: {title} ({ref}): {error}")
    return 1 if failed else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("rules", "query"):
        sys.exit(__doc__)
    found = queries(json.loads(DASHBOARD.read_text()))
    if sys.argv[1] == "rules":
        write_rules(found, sys.argv[2])
        return 0
    return ask(found, sys.argv[2].rstrip("/"))


if __name__ == "__main__":
    sys.exit(main())
