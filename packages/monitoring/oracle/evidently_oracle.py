"""Parity oracle: runs Evidently 0.7 DataDriftPreset on two CSV files and prints per-column results as JSON.

usage: evidently_oracle.py ref.csv cur.csv [--num a,b] [--cat c,d] [--drift-share 0.5]
                           [--methods col=psi,col2=kl_div] [--snapshot snapshot.json]
With --snapshot, the given SnapshotModel JSON (written by @skiff/monitoring) is loaded with
Evidently's own Snapshot.load to prove it is loadable; its values are echoed back.
"""
import argparse
import json
import math

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.core.report import Snapshot
from evidently.legacy.calculations.stattests import get_stattest
from evidently.presets import DataDriftPreset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("cur")
    ap.add_argument("--num", default="")
    ap.add_argument("--cat", default="")
    ap.add_argument("--drift-share", type=float, default=0.5)
    ap.add_argument("--methods", default="")
    ap.add_argument("--snapshot")
    a = ap.parse_args()

    ref = pd.read_csv(a.ref, float_precision="round_trip")
    cur = pd.read_csv(a.cur, float_precision="round_trip")
    num = [c for c in a.num.split(",") if c]
    cat = [c for c in a.cat.split(",") if c]
    methods = dict(kv.split("=", 1) for kv in a.methods.split(",") if kv) or None

    def mk() -> DataDefinition:
        return DataDefinition(numerical_columns=num, categorical_columns=cat, text_columns=[], datetime_columns=[])

    cur_ds = Dataset.from_pandas(cur, data_definition=mk())
    ref_ds = Dataset.from_pandas(ref, data_definition=mk())
    preset = DataDriftPreset(drift_share=a.drift_share, per_column_method=methods)
    snap = Report([preset], include_tests=True).run(cur_ds, ref_ds)
    d = json.loads(snap.json())
    status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"] if t["id"] == "drift"}

    def clean(s: pd.Series) -> pd.Series:
        return s.replace([math.inf, -math.inf], float("nan")).dropna()

    out: dict = {"columns": {}}
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith(":DriftedColumnsCount"):
            out.update(
                drifted_count=int(m["value"]["count"]),
                share=m["value"]["share"],
                dataset_drift=m["value"]["share"] >= a.drift_share,
                drifted_columns_count_id=m["id"],
            )
        elif cfg["type"].endswith(":ValueDrift"):
            col = cfg["column"]
            ctype = cur_ds.data_definition.get_column_type(col)
            st = get_stattest(clean(ref[col]), clean(cur[col]), ctype, (methods or {}).get(col))
            out["columns"][col] = {
                "id": m["id"],
                "type": ctype.value,
                "method": st.name,
                "method_display": cfg.get("method", st.display_name),
                "threshold": cfg.get("threshold", st.default_threshold),
                "score": float(m["value"]),
                "drifted": status.get(m["id"]) == "FAIL",
            }

    if a.snapshot:
        loaded = Snapshot.load(a.snapshot)
        ld = loaded.dict()
        out["snapshot"] = {
            "loaded": True,
            "metrics": [
                {"id": m["id"], "type": m["config"]["type"], "column": m["config"].get("column"), "value": m["value"]}
                for m in ld["metrics"]
            ],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
