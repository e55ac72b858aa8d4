#!/usr/bin/env python3
"""Writes operations.json and quality.json, the dqmon Grafana dashboards.

The dashboards are generated so that ids, grid positions and the common
panel boilerplate stay consistent; edit the panel lists below and run

    python3 dashboards/grafana/generate_dashboards.py

then check the queries against a live Prometheus with scripts/check-dashboards.sh.
Standard library only. Output: Grafana dashboard JSON, schemaVersion 39.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}

# Score and pass-rate colours: red under 60 % (score 60), amber under 90 %, green above.
RATE_STEPS = [
    {"color": "red", "value": None},
    {"color": "orange", "value": 0.6},
    {"color": "green", "value": 0.9},
]
SCORE_STEPS = [
    {"color": "red", "value": None},
    {"color": "orange", "value": 60},
    {"color": "green", "value": 90},
]


def target(expr, legend="", ref="A", instant=False, table=False):
    t = {
        "refId": ref,
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if table:
        t["format"] = "table"
    return t


def targets(*specs, **kw):
    """specs: (expr, legend) pairs -> targets with refIds A, B, ..."""
    return [target(e, l, chr(ord("A") + i), **kw) for i, (e, l) in enumerate(specs)]


def thresholds(steps):
    return {"mode": "absolute", "steps": steps}


def timeseries(title, tgts, unit="short", desc="", min_=None, max_=None, overrides=None, stack=False):
    defaults = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10 if not stack else 60,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "axisPlacement": "auto",
            "thresholdsStyle": {"mode": "off"},
        },
        "thresholds": thresholds([{"color": "green", "value": None}]),
    }
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    return {
        "type": "timeseries",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(title, tgts, unit="short", desc="", steps=None, mappings=None, text_mode="auto", graph=True, decimals=None):
    defaults = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds(steps or [{"color": "green", "value": None}]),
        "mappings": mappings or [],
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area" if graph else "none",
            "textMode": text_mode,
            "justifyMode": "auto",
            "orientation": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
    }


def bargauge(title, tgts, unit="short", desc="", steps=None, min_=None, max_=None):
    defaults = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds(steps or [{"color": "green", "value": None}]),
    }
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    return {
        "type": "bargauge",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "displayMode": "gradient",
            "orientation": "horizontal",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "auto",
            "sizing": "auto",
            "minVizHeight": 16,
            "minVizWidth": 8,
            "maxVizHeight": 300,
        },
    }


def table(title, tgts, unit="short", desc="", steps=None, transformations=None, overrides=None, cell="color-background"):
    return {
        "type": "table",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": thresholds(steps or [{"color": "green", "value": None}]),
                "custom": {"align": "auto", "cellOptions": {"type": cell}, "inspect": False},
            },
            "overrides": overrides or [],
        },
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
        "transformations": transformations or [],
    }


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def layout(items):
    """items: rows, or lists of (panel, width, height) laid left to right."""
    panels, y, pid = [], 0, 1
    for item in items:
        if isinstance(item, dict):
            item.update(id=pid, gridPos={"h": 1, "w": 24, "x": 0, "y": y})
            panels.append(item)
            pid, y = pid + 1, y + 1
            continue
        x, tallest = 0, 0
        for panel, w, h in item:
            if x + w > 24:
                x, y = 0, y + tallest
                tallest = 0
            panel.update(id=pid, gridPos={"h": h, "w": w, "x": x, "y": y})
            panels.append(panel)
            pid, x, tallest = pid + 1, x + w, max(tallest, h)
        y += tallest
    return panels


DATASOURCE_VAR = {
    "name": "datasource",
    "label": "Data source",
    "type": "datasource",
    "query": "prometheus",
    "current": {"selected": False, "text": "Prometheus", "value": "prometheus"},
    "hide": 0,
    "includeAll": False,
    "multi": False,
    "options": [],
    "refresh": 1,
    "regex": "",
}


def query_var(name, label, query):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": query,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "hide": 0,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    }


def dashboard(uid, title, desc, panels, variables, links):
    return {
        "__inputs": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": desc,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": links,
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["dqmon", "data-quality"],
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


LINKS = [
    {"title": "dqmon dashboards", "type": "dashboards", "tags": ["dqmon"], "asDropdown": False,
     "includeVars": False, "keepTime": True, "icon": "external link", "targetBlank": False, "tooltip": "", "url": ""},
]

TOPIC = "exchange.{{department}}.{{dataset}}"
INST = 'instance=~"$instance"'
DEPT = 'department=~"$department"'
RI = "$__rate_interval"
MSG_S = "suffix: msg/s"


def operations():
    ready_map = [{"type": "value", "options": {
        "0": {"text": "NOT READY", "color": "red", "index": 0},
        "1": {"text": "READY", "color": "green", "index": 1}}}]
    items = [
        row("Service"),
        [
            (stat("dqmon instances up", targets((f'sum(up{{job="dqmon", {INST}}})', "up")),
                  desc="Scrape targets of job dqmon that answered the last scrape (DQDown fires at 0).",
                  steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}], graph=False), 3, 4),
            (stat("Ready", targets((f"min(dq_ready{{{INST}}})", "ready")),
                  desc="dq_ready of the least ready instance: 1 once connected to Kafka with the checks loaded (DQNotReady).",
                  steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
                  mappings=ready_map, graph=False), 3, 4),
            (stat("Assigned partitions", targets((f"sum(dq_consumer_assigned_partitions{{{INST}}})", "partitions")),
                  desc="Kafka partitions assigned to dqmon, all instances together.",
                  steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}]), 3, 4),
            (stat("Records/s", targets((f"sum(rate(dq_records_total{{{INST}}}[{RI}]))", "records/s")),
                  unit=MSG_S, desc="Messages evaluated per second, all topics."), 3, 4),
            (stat("Total consumer lag", targets((f"sum(dq_consumer_lag_messages{{{INST}}})", "lag")),
                  desc="Messages on the exchange topics not yet evaluated.",
                  steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1000},
                         {"color": "red", "value": 10000}]), 3, 4),
            (stat("Uptime", targets((f'min(time() - process_start_time_seconds{{job="dqmon", {INST}}})', "uptime")),
                  unit="s", desc="Time since the youngest dqmon process started.", graph=False), 3, 4),
            (stat("Version", targets((f"dq_build_info{{{INST}}}", "{{version}}")),
                  desc="dq_build_info: the running version(s).", text_mode="name", graph=False), 6, 4),
        ],
        row("Throughput"),
        [
            (timeseries("Records evaluated per topic",
                        targets((f"sum by (department, dataset) (rate(dq_records_total{{{INST}}}[{RI}]))", TOPIC)),
                        unit=MSG_S, stack=True,
                        desc="rate(dq_records_total): messages evaluated per second on each exchange topic, malformed included."), 12, 8),
            (timeseries("Consumer lag per topic",
                        targets((f"sum by (topic) (dq_consumer_lag_messages{{{INST}}})", "{{topic}}")),
                        desc="Sum of the partitions' lag. Growing lag means dqmon cannot keep up (DQConsumerLagGrowing)."), 12, 8),
            (timeseries("Malformed messages per topic",
                        targets((f"sum by (department, dataset) (rate(dq_malformed_messages_total{{{INST}}}[{RI}]))", TOPIC)),
                        unit=MSG_S,
                        desc="Messages that are not UTF-8 JSON objects. They are format failures and go to the dead-letter topic."), 12, 8),
            (timeseries("Malformed share per topic (15m)",
                        targets(("dq:malformed:ratio_rate15m", TOPIC)),
                        unit="percentunit", min_=0,
                        desc="Recording rule dq:malformed:ratio_rate15m; DQMalformedRising fires above 5% when it doubles."), 12, 8),
        ],
        row("Processing and outputs"),
        [
            (timeseries("Processing latency per message",
                        targets(
                            (f"histogram_quantile(0.5, sum by (le) (rate(dq_processing_duration_seconds_bucket{{{INST}}}[{RI}])))", "p50"),
                            (f"histogram_quantile(0.99, sum by (le) (rate(dq_processing_duration_seconds_bucket{{{INST}}}[{RI}])))", "p99"),
                        ),
                        unit="s", min_=0,
                        desc="dq_processing_duration_seconds: evaluation and handling time of one message."), 12, 8),
            (timeseries("Violations published",
                        targets((f"sum by (department, dataset) (rate(dq_violations_published_total{{{INST}}}[{RI}]))", TOPIC)),
                        unit=MSG_S, desc="Violation records written to the violations topic."), 12, 8),
            (timeseries("Dead letters",
                        targets((f"sum by (department, dataset) (rate(dq_deadletter_messages_total{{{INST}}}[{RI}]))", TOPIC)),
                        unit=MSG_S, desc="Messages copied to the dead-letter topic."), 12, 8),
            (timeseries("Output errors",
                        targets((f"sum by (output) (rate(dq_output_errors_total{{{INST}}}[{RI}]))", "{{output}}")),
                        unit="suffix: err/s", min_=0,
                        desc="Failed writes to the violations or dead-letter topic; anything above 0 loses records (DQOutputErrors).",
                        overrides=[]), 12, 8),
            (timeseries("Output bytes in flight",
                        targets((f"sum(dq_output_in_flight_bytes{{{INST}}})", "in flight")),
                        unit="bytes", min_=0,
                        desc="Payload bytes of violation events and dead letters not yet acknowledged; reading pauses at "
                             "processing.max_in_flight_bytes (64 MiB by default)."), 12, 8),
            (timeseries("Late messages and order waits",
                        targets(
                            (f"sum by (department, dataset) (rate(dq_late_messages_total{{{INST}}}[{RI}]))", TOPIC),
                            (f"sum(rate(dq_order_waits_expired_total{{{INST}}}[{RI}]))", "order waits expired"),
                        ),
                        unit=MSG_S, min_=0,
                        desc="Messages judged late (they arrived after later-timestamped records were judged; their "
                             "cross-source and uniqueness outcomes are what was known on arrival), and times a partition "
                             "with unread messages sent nothing within processing.max_lag_ms."), 12, 8),
        ],
        row("Process"),
        [
            (timeseries("Resident memory",
                        targets((f'process_resident_memory_bytes{{job="dqmon", {INST}}}', "{{instance}}")),
                        unit="bytes", min_=0), 8, 8),
            (timeseries("CPU",
                        targets((f'rate(process_cpu_seconds_total{{job="dqmon", {INST}}}[{RI}])', "{{instance}}")),
                        unit="percentunit", min_=0, desc="CPU seconds per second: 100% = one core."), 8, 8),
            (timeseries("Open file descriptors",
                        targets((f'process_open_fds{{job="dqmon", {INST}}}', "{{instance}}")),
                        min_=0), 8, 8),
        ],
    ]
    variables = [DATASOURCE_VAR, query_var("instance", "Instance", 'label_values(up{job="dqmon"}, instance)')]
    return dashboard("dqmon-operations", "dqmon / Operations",
                     "Is dqmon itself healthy: throughput, lag, latency, outputs, process.",
                     layout(items), variables, LINKS)


def quality():
    silence_ratio = (
        f"(time() - max by (department, dataset) (dq_dataset_last_message_timestamp_seconds{{{DEPT}}}))"
        f" / on (department, dataset) max by (department, dataset) (dq_dataset_max_silence_seconds{{{DEPT}}})"
    )
    silent_count = (
        f"count((time() - max by (department, dataset) (dq_dataset_last_message_timestamp_seconds{{{DEPT}}}))"
        f" > on (department, dataset) max by (department, dataset) (dq_dataset_max_silence_seconds{{{DEPT}}})) or vector(0)"
    )
    worst_checks = (
        f"topk(15, sum by (department, dataset, check) (rate(dq_check_failures_total{{{DEPT}}}[$__range]))"
        f" / on (department, dataset) group_left"
        f" sum by (department, dataset) (rate(dq_records_total{{{DEPT}}}[$__range])))"
    )
    threshold_override = [{
        "matcher": {"id": "byRegexp", "options": "^threshold .*"},
        "properties": [
            {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
            {"id": "custom.fillOpacity", "value": 0},
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
        ],
    }]
    hide_time = [{"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {}}}]
    items = [
        row("Scores"),
        [
            (bargauge("Score today (dqmon)",
                      targets((f"max by (department) (dq_quality_score{{{DEPT}}})", "{{department}}")),
                      min_=0, max_=100, steps=SCORE_STEPS,
                      desc="dq_quality_score: today's score (calendar day, Asia/Shanghai, by message time), "
                           "weighted mean of the dimension pass rates x 100."), 8, 8),
            (bargauge("Score, last hour (Prometheus)",
                      targets(("dq:quality_score:ratio_rate1h{" + DEPT + "}", "{{department}}")),
                      min_=0, max_=100, steps=SCORE_STEPS,
                      desc="Recording rule dq:quality_score:ratio_rate1h: the same weights, renormalized over the "
                           "dimensions present, on a rolling hour."), 8, 8),
            (stat("Silent datasets", targets((silent_count, "silent")),
                  desc="Datasets silent for longer than their contract allows (DQDatasetSilent).",
                  steps=[{"color": "green", "value": None}, {"color": "red", "value": 1}], graph=False), 8, 8),
            (timeseries("Score trend",
                        targets(
                            (f"max by (department) (dq_quality_score{{{DEPT}}})", "{{department}} today"),
                            ("dq:quality_score:ratio_rate1h{" + DEPT + "}", "{{department}} last hour"),
                        ),
                        min_=0, max_=100,
                        desc="Today's score as dqmon reports it, and the rolling-hour score of the recording rule."), 24, 9),
        ],
        row("Dimensions"),
        [
            (timeseries("Pass rate per department and dimension (1h)",
                        targets(
                            ("dq:dimension_pass_rate:ratio_rate1h{" + DEPT + "}", "{{department}} {{dimension}}"),
                            ("max by (dimension) (dq_dimension_pass_rate_threshold)", "threshold {{dimension}}"),
                        ),
                        unit="percentunit", max_=1, overrides=threshold_override,
                        desc="passed / (passed + failed) over the last hour. Dashed: the configured threshold per "
                             "dimension; DQPassRateLow fires after 15 minutes under it."), 24, 9),
            (table("Pass rate: department x dimension (1h)",
                   targets(("dq:dimension_pass_rate:ratio_rate1h{" + DEPT + "}", ""), instant=True, table=True),
                   unit="percentunit", steps=RATE_STEPS,
                   transformations=[{"id": "groupingToMatrix", "options": {
                       "columnField": "dimension", "rowField": "department", "valueField": "Value",
                       "emptyValue": "null"}}],
                   desc="Empty cell: no outcome of that dimension in the last hour (not applicable)."), 12, 8),
            (table("Pass rate: dataset x dimension (1h)",
                   targets(("dq:dataset_dimension_pass_rate:ratio_rate1h{" + DEPT + "}", ""), instant=True, table=True),
                   unit="percentunit", steps=RATE_STEPS,
                   transformations=[{"id": "groupingToMatrix", "options": {
                       "columnField": "dimension", "rowField": "dataset", "valueField": "Value",
                       "emptyValue": "null"}}]), 12, 8),
            (timeseries("Dimension failures per dataset",
                        targets((f'sum by (department, dataset, dimension) (rate(dq_dimension_results_total{{result="fail", {DEPT}}}[{RI}]))',
                                 "{{department}}.{{dataset}} {{dimension}}")),
                        unit="suffix: fail/s", min_=0,
                        desc="Records failing each dimension per second."), 24, 8),
        ],
        row("Checks"),
        [
            (table("Worst checks (share of records failing, dashboard range)",
                   targets((worst_checks, ""), instant=True, table=True),
                   unit="percentunit",
                   steps=[{"color": "green", "value": None}, {"color": "orange", "value": 0.01},
                          {"color": "red", "value": 0.05}],
                   transformations=hide_time,
                   desc="The 15 checks that fail the largest share of their dataset's records. The check id is "
                        "`field.required`, `field.format`, `field.cross_source`, a rule id, ..."), 12, 10),
            (timeseries("Check failures (top 10)",
                        targets((f"topk(10, sum by (department, dataset, check) (rate(dq_check_failures_total{{{DEPT}}}[{RI}])))",
                                 "{{department}}.{{dataset}} {{check}}")),
                        unit="suffix: fail/s", min_=0), 12, 10),
        ],
        row("Rectification (整改)"),
        [
            (table("Findings per department",
                   targets(
                       (f"max by (department) (dq_findings_open{{{DEPT}}})", ""),
                       (f"max by (department) (dq_findings_overdue{{{DEPT}}})", ""),
                       (f"max by (department) (dq_findings_fixed{{{DEPT}}})", ""),
                       (f"max by (department) (dq_findings_median_time_to_fix_seconds{{{DEPT}}})", ""),
                       instant=True, table=True),
                   cell="auto",
                   transformations=[
                       {"id": "merge", "options": {}},
                       {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                      "renameByName": {"Value #A": "open", "Value #B": "overdue",
                                                                       "Value #C": "fixed",
                                                                       "Value #D": "median time to fix"}}},
                   ],
                   overrides=[
                       {"matcher": {"id": "byName", "options": "median time to fix"},
                        "properties": [{"id": "unit", "value": "s"}]},
                       {"matcher": {"id": "byName", "options": "overdue"},
                        "properties": [{"id": "custom.cellOptions", "value": {"type": "color-background"}},
                                       {"id": "thresholds", "value": thresholds(
                                           [{"color": "green", "value": None}, {"color": "red", "value": 1}])}]},
                   ],
                   desc="A finding: a failed check of an entity's record that no later record of the same entity "
                        "has passed. Overdue: open past governance.yaml's working days (DQFindingsOverdue). "
                        "Read from the score store; the scorecard's /departments/<id>/findings lists them."), 12, 8),
            (timeseries("Open and overdue findings",
                        targets(
                            (f"max by (department) (dq_findings_open{{{DEPT}}})", "{{department}} open"),
                            (f"max by (department) (dq_findings_overdue{{{DEPT}}})", "{{department}} overdue"),
                        ),
                        min_=0), 12, 8),
        ],
        row("Disputes (异议)"),
        [
            (timeseries("Pending and overdue disputes by stage",
                        targets(
                            (f"sum by (stage) (max by (department, stage) (dq_disputes_pending{{{DEPT}}}))", "{{stage}} pending"),
                            (f"sum by (stage) (max by (department, stage) (dq_disputes_overdue{{{DEPT}}}))", "{{stage}} overdue"),
                        ),
                        min_=0,
                        desc="Disputes not decided yet, by stage: filed (the officers accept), verifying (the "
                             "authoritative department answers), deciding (the officers decide). Overdue: past the "
                             "stage's working days in governance.yaml (DQDisputesOverdue, to the officers). The "
                             "scorecard's /disputes page lists them."), 12, 8),
            (timeseries("Decided disputes",
                        targets(
                            (f"max by (department, decision) (dq_disputes_decided{{{DEPT}}})", "{{department}} {{decision}}"),
                        ),
                        min_=0,
                        desc="Upheld disputes withdraw their findings from the scores (charged to the authoritative "
                             "department's dataset when it said its value was wrong); rejected ones leave them."), 12, 8),
        ],
        row("Freshness and silence"),
        [
            (timeseries("Record age at publication (p50 / p99)",
                        targets(
                            (f"histogram_quantile(0.5, sum by (le, department, dataset) (rate(dq_record_age_seconds_bucket{{{DEPT}}}[{RI}])))",
                             "{{department}}.{{dataset}} p50"),
                            (f"histogram_quantile(0.99, sum by (le, department, dataset) (rate(dq_record_age_seconds_bucket{{{DEPT}}}[{RI}])))",
                             "{{department}}.{{dataset}} p99"),
                        ),
                        unit="s", min_=0,
                        desc="message timestamp - updated_at. The freshness dimension fails above the dataset's "
                             "maximum age (24 h to 72 h)."), 12, 9),
            (bargauge("Silence / allowed silence",
                      targets((silence_ratio, TOPIC)),
                      unit="percentunit", min_=0, max_=1.5,
                      steps=[{"color": "green", "value": None}, {"color": "orange", "value": 0.5},
                             {"color": "red", "value": 1}],
                      desc="(now - message time of the last record) / the contract's maximum silence. Above 100% "
                           "the dataset is silent (DQDatasetSilent)."), 12, 9),
            (table("Last message per dataset",
                   targets(
                       (f"max by (department, dataset) (dq_dataset_last_message_timestamp_seconds{{{DEPT}}}) * 1000", ""),
                       (f"max by (department, dataset) (dq_dataset_max_silence_seconds{{{DEPT}}})", ""),
                       instant=True, table=True),
                   cell="auto",
                   transformations=[
                       {"id": "merge", "options": {}},
                       {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                      "renameByName": {"Value #A": "last message",
                                                                       "Value #B": "allowed silence"}}},
                   ],
                   overrides=[
                       {"matcher": {"id": "byName", "options": "last message"},
                        "properties": [{"id": "unit", "value": "dateTimeFromNow"}]},
                       {"matcher": {"id": "byName", "options": "allowed silence"},
                        "properties": [{"id": "unit", "value": "s"}]},
                   ],
                   desc="Message time of each dataset's last record (1970 = nothing since dqmon started) and the "
                        "contract's maximum silence."), 24, 8),
        ],
        row("Volume"),
        [
            (timeseries("Records per dataset",
                        targets((f"sum by (department, dataset) (rate(dq_records_total{{{DEPT}}}[{RI}]))", TOPIC)),
                        unit=MSG_S, stack=True), 24, 8),
        ],
    ]
    variables = [DATASOURCE_VAR, query_var("department", "Department", "label_values(dq_records_total, department)")]
    return dashboard("dqmon-quality", "dqmon / Data quality",
                     "Data quality of the exchange bus per department and dataset: scores, dimension pass rates, "
                     "failing checks, freshness and silence.",
                     layout(items), variables, LINKS)


def main():
    for name, dash in (("operations.json", operations()), ("quality.json", quality())):
        path = os.path.join(HERE, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dash, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {path}: {len([p for p in dash['panels'] if p['type'] != 'row'])} panels")


if __name__ == "__main__":
    main()
