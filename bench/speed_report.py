"""bench/speed.md from the rows bench/speed.py measured (the newest row of each kind wins)."""

from __future__ import annotations

import json
from pathlib import Path

from measure import machine

TARGET_MEMORY_MB = 1536


def newest(rows_path: Path) -> dict[tuple, dict]:
    rows: dict[tuple, dict] = {}
    for line in rows_path.read_text().splitlines():
        row = json.loads(line)
        key = (row["kind"], row["model"], row.get("path"), row.get("budget"))
        rows[key] = row
    return rows


def write_report(rows_path: Path, output: Path) -> None:
    rows = newest(rows_path)
    raws = {key[1]: row for key, row in rows.items() if key[0] == "raw"}
    best = {
        name: {runtime: max(map(float, row[runtime].values())) for runtime in ("onnx", "torch")}
        for name, row in raws.items()
    }
    lines = [
        "# Speed and memory on real classifiers",
        "",
        "Regenerate with `python bench/speed.py` (each measurement a fresh process; about 20 "
        "minutes, most of it the ResNets). Ratios within a row are what to compare: the "
        "machine is shared and absolute speeds move between runs.",
        "",
        f"Machine: {machine()}",
        "",
        "## Raw batched throughput (images/s, best batch size, 2 threads)",
        "",
        "| model | ONNX Runtime | PyTorch | PyTorch / ONNX Runtime |",
        "|---|---|---|---|",
    ]
    for name, rates in best.items():
        lines.append(
            f"| {name} | {rates['onnx']:,.0f} | {rates['torch']:,.0f} | "
            f"{rates['torch'] / rates['onnx']:.2f} |"
        )
    lines += _gates(rows, raws, best) + _twins(rows) + _torchattacks(rows)
    output.write_text("\n".join(lines) + "\n")


def _gates(rows: dict, raws: dict, best: dict) -> list[str]:
    lines = [
        "",
        "## 100-image gates (20 for resnet224; threshold 0.3, early verdict on, defaults)",
        "",
        "`q/s / raw`: the gate's queries per second over the best raw throughput of the runtime "
        "that searched (ONNX Runtime for onnx and twin). `batch`: the size the gate measured; "
        "`raw at batch / best`: the raw throughput at that size over the best size's (target "
        f">= 0.9). Peak RSS target for the 224x224 ResNet: < {TARGET_MEMORY_MB} MB.",
        "",
        "| model | path | budget | verdict | attacked | queries | wall s | q/s / raw | batch | "
        "raw at batch / best | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in sorted(rows.items(), key=lambda item: str(item[0])):
        if key[0] != "gate":
            continue
        runtime = "torch" if row["backend"] == "torch" else "onnx"
        raw_best = best.get(row["model"], {}).get(runtime)
        ratio = f"{row['queries'] / row['seconds'] / raw_best:.2f}" if raw_best else "-"
        at_batch = _raw_at(raws.get(row["model"], {}).get(runtime, {}), row["batch"], raw_best)
        attacked = f"{row['attacked']}/{row['attacked'] + row['skipped']}"
        lines.append(
            f"| {row['model']} | {row['path']} | {row['budget']} | {row['status']} | {attacked} "
            f"| {row['queries']:,} | {row['seconds']:.1f} | {ratio} | {row['batch']} | "
            f"{at_batch} | {row['peak_mb']:,.0f} |"
        )
    return lines


def _raw_at(measured: dict, batch: int, raw_best: float | None) -> str:
    """Raw throughput at the gate's batch (the nearest size measured) over the best."""
    if not measured or not raw_best:
        return "-"
    sizes = {int(size): rate for size, rate in measured.items()}
    nearest = min(sizes, key=lambda size: abs(size - batch))
    return f"{sizes[nearest] / raw_best:.2f} (at {nearest})"


def _twins(rows: dict) -> list[str]:
    lines = [
        "",
        "## PyTorch models: searched by the ONNX twin against PyTorch alone",
        "",
        "| model | budget | torch s | twin s | speed-up | same verdict and queries |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in sorted(rows.items(), key=lambda item: str(item[0])):
        if key[0] != "gate" or row["path"] != "twin":
            continue
        torch_row = rows.get(("gate", row["model"], "torch", row["budget"]))
        if torch_row is None:
            continue
        same = torch_row["status"] == row["status"] and torch_row["queries"] == row["queries"]
        lines.append(
            f"| {row['model']} | {row['budget']} | {torch_row['seconds']:.1f} | "
            f"{row['seconds']:.1f} | {torch_row['seconds'] / row['seconds']:.2f}x | "
            f"{'yes' if same else 'verdict ' + row['status'] + ' vs ' + torch_row['status']} |"
        )
    return lines


def _torchattacks(rows: dict) -> list[str]:
    lines = [
        "",
        "## Our PyTorch path against torchattacks' OnePixel on the same module (budget 400)",
        "",
        "| model | images | torchattacks queries/s | ours (torch) queries/s | ours / theirs |",
        "|---|---|---|---|---|",
    ]
    for key, row in rows.items():
        if key[0] != "torchattacks":
            continue
        theirs = row["theirs_queries"] / row["theirs_seconds"]
        ours = row["ours_queries"] / row["ours_seconds"]
        lines.append(
            f"| {row['model']} | {row['images']} | {theirs:,.0f} | {ours:,.0f} | "
            f"{ours / theirs:.2f} |"
        )
    return lines
