"""Hashes of the records of the digits and colour bench models through ONNX (issue 21.4): run
before and after an engine change that should not move records; `--no-confidence` leaves out
the stored confidences (what a change of the confirmation composition may move).

    python bench/record_hash.py [--no-confidence] [--max-batch N]
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    from speed import bench_of

    from pytest_onepixel import attack

    confidence = "--no-confidence" not in sys.argv
    given = "--max-batch" in sys.argv
    max_batch = int(sys.argv[sys.argv.index("--max-batch") + 1]) if given else None
    for name, budget, count in (("digits", 400, 100), ("colour", 100, 40)):
        bench = bench_of(name)
        result = attack(
            str(bench.onnx), bench.images[:count], bench.labels[:count], budget=budget,
            pixel_range=bench.pixel_range, max_batch=max_batch,
        )  # fmt: skip
        rows = [asdict(r) for r in result.records]
        if not confidence:
            for row in rows:
                row.pop("adversarial_confidence")
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]
        print(name, budget, count, max_batch, digest)


if __name__ == "__main__":
    main()
