"""Times Evidently 0.7 on the bench CSVs: pandas.read_csv of both files + Report([DataDriftPreset()]).run.

usage: evidently_bench.py ref.csv cur.csv --num a,b --cat c,d
Prints one JSON object: seconds (read + run), readSeconds, runSeconds, share, scores per column.
Import time of evidently/pandas is excluded (as Node's startup is for skiff).
"""
import argparse
import json
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("cur")
    ap.add_argument("--num", default="")
    ap.add_argument("--cat", default="")
    a = ap.parse_args()
    num = [c for c in a.num.split(",") if c]
    cat = [c for c in a.cat.split(",") if c]

    t0 = time.perf_counter()
    ref = pd.read_csv(a.ref, float_precision="round_trip")
    cur = pd.read_csv(a.cur, float_precision="round_trip")
    t1 = time.perf_counter()

    def mk() -> DataDefinition:
        return DataDefinition(numerical_columns=num, categorical_columns=cat, text_columns=[], datetime_columns=[])

    snap = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=mk()), Dataset.from_pandas(ref, data_definition=mk()))
    d = snap.dict()
    t2 = time.perf_counter()

    out = {"seconds": t2 - t0, "readSeconds": t1 - t0, "runSeconds": t2 - t1, "scores": {}}
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith(":DriftedColumnsCount"):
            out["share"] = m["value"]["share"]
        elif cfg["type"].endswith(":ValueDrift"):
            out["scores"][cfg["column"]] = {"method": cfg.get("method"), "score": float(m["value"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
