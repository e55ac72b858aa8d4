#!/usr/bin/env python3
"""A stand-in for dqmon's /metrics, for developing the dashboards and rules.

NOT used by CI: CI scrapes the real dqmon. This serves the metric names and
labels that dqmon exports (see the README's operator section) with plausible,
growing values for the six departments, so that scripts/check-dashboards.sh can
be exercised without Kafka or a dqmon build:

    python3 scripts/fake_dqmon_metrics.py --port 19898 &
    DQMON_METRICS_TARGET=127.0.0.1:19898 scripts/prometheus-local.sh start
    sleep 20; scripts/check-dashboards.sh
    scripts/prometheus-local.sh stop; kill %1

Standard library only; listens on 127.0.0.1.
"""

import argparse
import http.server
import time

DATASETS = [
    ("public_security", "household_registration", 24 * 3600),
    ("civil_affairs", "subsistence_allowance", 72 * 3600),
    ("hrss", "social_insurance", 48 * 3600),
    ("market_regulation", "business_registration", 24 * 3600),
    ("tax", "taxpayer_registration", 48 * 3600),
    ("health", "birth_certificate", 72 * 3600),
]
DIMENSIONS = {"completeness": 0.96, "format": 0.97, "consistency": 0.98, "freshness": 0.995, "uniqueness": 0.999}
THRESHOLDS = {"completeness": 0.95, "format": 0.95, "consistency": 0.95, "freshness": 0.9, "uniqueness": 0.99}
CHECKS = {"record_id.required": 0.01, "updated_at.freshness": 0.005, "division_code.format": 0.02, "record_id.unique": 0.001}
AGE_BUCKETS = [60, 300, 900, 3600, 21600, 43200, 86400, 172800, 259200, 604800]
# Share of records whose age falls at or under each bucket bound (cumulative).
AGE_CDF = [0.05, 0.3, 0.5, 0.7, 0.85, 0.9, 0.97, 0.99, 0.995, 0.999]
DURATION_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]
DURATION_CDF = [0.01, 0.2, 0.6, 0.95, 0.99, 0.999, 1, 1, 1]
RATE = 30.0  # records per second and dataset
START = time.time()


def fmt(v):
    return repr(float(v)) if isinstance(v, float) else str(v)


def render():
    now = time.time()
    up = now - START
    out = []

    def metric(name, kind, help_, samples):
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
            out.append(f"{name}{{{lab}}} {fmt(value)}" if lab else f"{name} {fmt(value)}")

    def hist(name, help_, base_labels, count, bounds, cdf, mean):
        out_samples = []
        for b, c in zip(bounds, cdf):
            out_samples.append(({**base_labels, "le": fmt(float(b))}, int(count * c)))
        out_samples.append(({**base_labels, "le": "+Inf"}, int(count)))
        return out_samples, [(base_labels, count * mean)], [(base_labels, int(count))]

    records = {(d, s): int(RATE * up) + 1000 for d, s, _ in DATASETS}
    lab = lambda d, s: {"department": d, "dataset": s}

    metric("dq_records_total", "counter", "Messages evaluated.", [(lab(d, s), n) for (d, s), n in records.items()])
    dim = []
    for (d, s), n in records.items():
        for dimension, share in DIMENSIONS.items():
            dim.append(({**lab(d, s), "dimension": dimension, "result": "pass"}, int(n * share)))
            dim.append(({**lab(d, s), "dimension": dimension, "result": "fail"}, int(n * (1 - share))))
    metric("dq_dimension_results_total", "counter", "Dimension outcomes.", dim)
    metric("dq_check_failures_total", "counter", "Check failures.",
           [({**lab(d, s), "check": c}, int(n * share)) for (d, s), n in records.items() for c, share in CHECKS.items()])
    metric("dq_malformed_messages_total", "counter", "Malformed messages.",
           [(lab(d, s), int(n * 0.01)) for (d, s), n in records.items()])

    buckets, sums, counts = [], [], []
    for (d, s), n in records.items():
        b, su, co = hist("dq_record_age_seconds", "", lab(d, s), n, AGE_BUCKETS, AGE_CDF, 3000.0)
        buckets += b
        sums += su
        counts += co
    out.append("# HELP dq_record_age_seconds Message timestamp minus updated_at.")
    out.append("# TYPE dq_record_age_seconds histogram")
    for name, samples in (("dq_record_age_seconds_bucket", buckets), ("dq_record_age_seconds_sum", sums),
                          ("dq_record_age_seconds_count", counts)):
        for labels, value in samples:
            out.append(name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "} " + fmt(value))

    metric("dq_dataset_last_message_timestamp_seconds", "gauge", "Message time of the last record.",
           [(lab(d, s), round(now - 2.0, 3)) for d, s, _ in DATASETS])
    metric("dq_dataset_max_silence_seconds", "gauge", "Allowed silence.",
           [(lab(d, s), float(max_age)) for d, s, max_age in DATASETS])
    metric("dq_dimension_pass_rate_threshold", "gauge", "Pass rate threshold.",
           [({"dimension": k}, v) for k, v in THRESHOLDS.items()])
    metric("dq_quality_score", "gauge", "Today's score.",
           [({"department": d}, 97.5 - i) for i, (d, _, _) in enumerate(DATASETS)])
    metric("dq_consumer_lag_messages", "gauge", "Consumer lag.",
           [({"topic": f"exchange.{d}.{s}", "partition": str(p)}, (p * 7 + int(up)) % 50)
            for d, s, _ in DATASETS for p in range(3)])
    metric("dq_consumer_assigned_partitions", "gauge", "Assigned partitions.", [({}, 18)])
    metric("dq_ready", "gauge", "Ready.", [({}, 1)])

    total = sum(records.values())
    b, su, co = hist("dq_processing_duration_seconds", "", {}, total, DURATION_BUCKETS, DURATION_CDF, 0.0002)
    out.append("# HELP dq_processing_duration_seconds Per-message processing time.")
    out.append("# TYPE dq_processing_duration_seconds histogram")
    for name, samples in (("dq_processing_duration_seconds_bucket", b), ("dq_processing_duration_seconds_sum", su),
                          ("dq_processing_duration_seconds_count", co)):
        for labels, value in samples:
            lab_s = ",".join(f'{k}="{v}"' for k, v in labels.items())
            out.append(f"{name}{{{lab_s}}} {fmt(value)}" if lab_s else f"{name} {fmt(value)}")

    metric("dq_violations_published_total", "counter", "Violations published.",
           [(lab(d, s), int(n * 0.08)) for (d, s), n in records.items()])
    metric("dq_deadletter_messages_total", "counter", "Dead letters.",
           [(lab(d, s), int(n * 0.01)) for (d, s), n in records.items()])
    metric("dq_output_errors_total", "counter", "Output errors.", [({"output": "violations"}, 0), ({"output": "deadletter"}, 0)])
    metric("dq_build_info", "gauge", "Build info.", [({"version": "0.0.0-fake"}, 1)])
    metric("process_cpu_seconds_total", "counter", "CPU.", [({}, round(up * 0.3, 3))])
    metric("process_resident_memory_bytes", "gauge", "RSS.", [({}, 64 * 1024 * 1024)])
    metric("process_open_fds", "gauge", "FDs.", [({}, 42)])
    metric("process_start_time_seconds", "gauge", "Start.", [({}, int(START))])
    return ("\n".join(out) + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        body = render()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=19898)
    args = ap.parse_args()
    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
