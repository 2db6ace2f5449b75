#!/usr/bin/env python3
"""Check the Grafana dashboard the packages ship (packaging/grafana/callvault-dashboard.json).

Every panel's PromQL, with the dashboard's variables given values ($__rate_interval as 1m,
$instance as any instance):

  check-dashboard.py rules OUT.yml    writes them as recording rules, for
                                      `promtool check rules OUT.yml` to parse (CI)
  check-dashboard.py query URL [--may-be-empty TITLE...]
                                      asks the Prometheus at URL for each, and says which
                                      answer series and which none; with --may-be-empty,
                                      fails when a panel not named there has a query
                                      without series (scripts/dashboard-live.sh, in CI)

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


def ask(found, url, may_be_empty=None):
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
    if may_be_empty is None:
        return 1 if failed else 0
    titles = {title for title, _, _ in found}
    unknown = [t for t in may_be_empty if t not in titles]
    for title in unknown:
        print(f"--may-be-empty names no panel: {title}")
    unexpected = [(t, r) for t, r in empty if t not in may_be_empty]
    for title, ref in unexpected:
        print(f"no series, and not a panel that may be empty: {title} ({ref})")
    return 1 if failed or unknown or unexpected else 0


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in ("rules", "query"):
        sys.exit(__doc__)
    found = queries(json.loads(DASHBOARD.read_text()))
    if args[0] == "rules" and len(args) == 2:
        write_rules(found, args[1])
        return 0
    if args[0] == "query" and len(args) == 2:
        return ask(found, args[1].rstrip("/"))
    if args[0] == "query" and args[2] == "--may-be-empty":
        return ask(found, args[1].rstrip("/"), args[3:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
