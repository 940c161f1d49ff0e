"""Hashes of the records of the digits and colour bench models through ONNX (issue 21.4): run
before and after an engine change that should not move records; `--no-confidence` leaves out
the stored confidences (what a change of the confirmation composition may move).

- `--max-batch N`: the search's (and the checks') batch capped at N;
- `--shards N`: the sample attacked as shards 1/N ... N/N, records joined in sample order (each
  shard's records are what the unsharded run stores for those images);
- `--executor ray`: the Ray executor (a local Ray instance);
- `--confirm-alone`: every confirmation scores one image per call, whatever the probe found
  (engine/batches.py `confirm_batch`), to compare against batched confirmations.

    python bench/record_hash.py [--no-confidence] [--max-batch N] [--shards N]
        [--executor ray] [--confirm-alone]
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def option(name: str, default: str | None = None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    from speed import bench_of

    from pytest_onepixel import api, attack
    from pytest_onepixel.engine import batches

    if "--confirm-alone" in sys.argv:
        api.confirm_batch = lambda exact, max_batch: batches.CONFIRM_BATCH
    confidence = "--no-confidence" not in sys.argv
    max_batch = int(option("--max-batch")) if option("--max-batch") else None
    shards = int(option("--shards", "1"))
    executor = option("--executor", "local")
    for name, budget, count in (("digits", 400, 100), ("colour", 100, 40)):
        bench = bench_of(name)
        rows, exact = [], []
        for index in range(1, shards + 1):
            result = attack(
                str(bench.onnx), bench.images[:count], bench.labels[:count], budget=budget,
                pixel_range=bench.pixel_range, max_batch=max_batch, executor=executor,
                shard=None if shards == 1 else (index, shards),
            )  # fmt: skip
            rows += [asdict(r) for r in result.records]
            exact.append(result.measured.model_check["exact"])
        rows.sort(key=lambda row: row["index"])
        for row in rows:  # fields added later (search: certify) leave the hash alone when unset
            for key in ("outcome", "proof"):
                if row.get(key, 0) is None:
                    row.pop(key)
        if not confidence:
            for row in rows:
                row.pop("adversarial_confidence")
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
        print(name, budget, count, max_batch, f"shards={shards}", executor, exact, digest)


if __name__ == "__main__":
    main()
