#!/usr/bin/env python3
"""Print every PromQL query of the Grafana dashboards, one JSON object per line.

Reads every *.json under grafana/dashboards (or the directories / files given as
arguments) and prints, for each dashboard:
  - the `expr` of every target of every panel, including panels nested in
    (collapsed) rows, as {"dashboard": title, "panel": panel title, "expr": expr};
  - the query of every query-type template variable, as
    {"dashboard": title, "panel": "$<variable name>", "expr": query}
    (these are Grafana's label_values(...) / query_result(...) forms, not plain PromQL).

Template variables ($model, $session, $__rate_interval, ...) are printed as written.
Standalone: Python 3 standard library only.

    python3 grafana/extract_queries.py                # all shipped dashboards
    python3 grafana/extract_queries.py some/dir x.json
"""
import json
import pathlib
import sys


def panels(panel_list):
    """Yield every panel, descending into rows (collapsed rows keep theirs in `panels`)."""
    for panel in panel_list or []:
        yield panel
        yield from panels(panel.get("panels"))


def variable_query(variable):
    query = variable.get("query")
    if isinstance(query, dict):  # Grafana 10+ object form: {"query": "...", "refId": ...}
        query = query.get("query")
    return query or variable.get("definition")


def queries(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    if "dashboard" in dashboard and "panels" not in dashboard:  # API export wrapper
        dashboard = dashboard["dashboard"]
    title = dashboard.get("title", path.stem)
    for panel in panels(dashboard.get("panels")):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if expr:
                yield {"dashboard": title, "panel": panel.get("title", ""), "expr": expr}
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") == "query":
            query = variable_query(variable)
            if query:
                yield {"dashboard": title, "panel": "$" + variable.get("name", ""), "expr": query}


def main(argv):
    default = pathlib.Path(__file__).resolve().parent / "dashboards"
    files = []
    for arg in argv or [str(default)]:
        p = pathlib.Path(arg)
        files.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    if not files:
        print(f"extract_queries.py: no dashboards found in {argv or [str(default)]}", file=sys.stderr)
        return 1
    for path in files:
        for query in queries(path):
            print(json.dumps(query, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
