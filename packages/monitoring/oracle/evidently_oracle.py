"""Parity oracle: runs Evidently 0.7 DataDriftPreset on two CSV files and prints per-column results as JSON.

usage: evidently_oracle.py ref.csv cur.csv [--num a,b] [--cat c,d] [--drift-share 0.5]
                           [--methods col=psi,col2=kl_div] [--snapshot snapshot.json]
       evidently_oracle.py --workspace DIR
With --snapshot, the given SnapshotModel JSON (written by @skiff/monitoring) is loaded with
Evidently's own Snapshot.load to prove it is loadable; its values are echoed back.
With --workspace, the local workspace folder (written by runMonitor) is read with Evidently's own
`evidently.ui.workspace.Workspace` (projects, runs, dashboard) and with the UI server's storage
(`create_local_project_manager`, the code behind `evidently ui --workspace DIR`), which rebuilds the
dashboard series of the drift share; both are echoed back under "workspace".
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
    ap.add_argument("ref", nargs="?")
    ap.add_argument("cur", nargs="?")
    ap.add_argument("--num", default="")
    ap.add_argument("--cat", default="")
    ap.add_argument("--drift-share", type=float, default=0.5)
    ap.add_argument("--methods", default="")
    ap.add_argument("--snapshot")
    ap.add_argument("--workspace")
    a = ap.parse_args()
    if a.workspace and not a.ref:
        print(json.dumps({"workspace": read_workspace(a.workspace)}))
        return
    if not (a.ref and a.cur):
        ap.error("ref.csv and cur.csv are required (unless only --workspace is given)")

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
    if a.workspace:
        out["workspace"] = read_workspace(a.workspace)
    print(json.dumps(out))


def _share_and_scores(model) -> dict:
    """Drift share, count and per-column scores of one SnapshotModel, via Evidently's Snapshot."""
    d = Snapshot.load_model(model).dict()
    res: dict = {"columns": {}}
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith(":DriftedColumnsCount"):
            res["share"] = m["value"]["share"]
            res["count"] = m["value"]["count"]
        elif cfg["type"].endswith(":ValueDrift"):
            res["columns"][cfg["column"]] = m["value"]
    return res


def read_workspace(path: str) -> dict:
    import asyncio

    from evidently.ui.service.base import SeriesFilter
    from evidently.ui.service.storage.local import create_local_project_manager
    from evidently.ui.workspace import Workspace

    ws = Workspace(path)
    projects = []
    for p in ws.list_projects():
        runs = []
        for sid in ws.list_runs(p.id):
            model = ws.get_run(p.id, sid)
            runs.append({"id": str(sid), "timestamp": model.timestamp.isoformat(), "metadata": model.metadata,
                         "tags": model.tags, **_share_and_scores(model)})
        runs.sort(key=lambda r: (r["timestamp"], r["id"]))
        dash = ws.get_dashboard(p.id)
        projects.append({
            "id": str(p.id), "name": p.name, "description": p.description, "version": p.version,
            "runs": runs,
            "dashboard_panels": [pp.title for pp in dash.panels],
        })

    # What the UI server builds from the same folder: the dashboard series of the drift share.
    pm = create_local_project_manager(path, False)
    ui = {}
    keys = {str(k): k for k in pm.data_storage.state.projects}
    for p in projects:
        resp = asyncio.run(pm.data_storage.get_data_series(
            keys[p["id"]],
            [SeriesFilter(tags=[], metadata={}, metric="evidently:metric_v2:DriftedColumnsCount",
                          metric_labels={"value_type": "share"})],
            None, None,
        ))
        ui[p["id"]] = {"share_series": [v for s in resp.series for v in s.values],
                       "sources": [str(s.snapshot_id) for s in resp.sources]}
    return {"projects": projects, "ui_series": ui}


if __name__ == "__main__":
    main()
