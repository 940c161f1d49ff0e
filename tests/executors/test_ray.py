"""The Ray executor on a local instance (`ray.init(num_cpus=2)`): the same records as the local
executor, with and without the early verdict, and an error inside an actor comes back as the
gate's error with the actor's message."""

from __future__ import annotations

import json
import os
import sys
import types

import numpy as np
import pytest
from conftest import write_gates

from pytest_onepixel import ModelCallError, attack, load_model
from pytest_onepixel.gate.early import EarlyVerdict
from pytest_onepixel.gate.spec import GateSpec

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.mark.parametrize("threshold", [None, 0.05, 0.9])
def test_ray_gives_the_local_records(local_ray, gate_assets, tmp_path, threshold) -> None:
    (tmp_path / "tiny.onnx").write_bytes(gate_assets["tiny.onnx"])
    (tmp_path / "holdout.npz").write_bytes(gate_assets["holdout.npz"])
    data = np.load(tmp_path / "holdout.npz")
    images = np.concatenate([data["x"]] * 2)  # 80 images: several waves, several actors
    labels = np.concatenate([data["y"]] * 2)
    model = load_model(tmp_path / "tiny.onnx")

    def run(executor: str):
        stop = None if threshold is None else EarlyVerdict(GateSpec(threshold))
        options = {"budget": 40, "pixel_range": (0, 16), "stop_when": stop}
        return attack(model, images, labels, executor=executor, **options)

    local, distributed = run("local"), run("ray")
    assert local.measured.guidance["used"] == "gradient"  # the guide travels to the actors
    assert distributed.records == local.records
    if threshold is not None:
        assert local.skipped > 0  # the early verdict stopped both at the same images


FAILING_ON_WORKERS = """
import os
import numpy as np

DRIVER = os.getpid()

def model(batch):
    if os.getpid() != DRIVER:
        raise RuntimeError("GPU 0 fell off the bus")
    return np.tile([5.0, 0.0], (len(batch), 1))
"""


def test_an_error_inside_an_actor_is_the_gates_error(local_ray) -> None:
    module = types.ModuleType("failing_on_workers")
    exec(FAILING_ON_WORKERS, module.__dict__)
    sys.modules[module.__name__] = module
    ray.cloudpickle.register_pickle_by_value(module)  # Ray's own copy of cloudpickle
    try:
        with pytest.raises(ModelCallError, match="GPU 0 fell off the bus"):
            attack(module.model, np.zeros((4, 1, 4, 4), np.uint8), np.zeros(4, int), executor="ray")
    finally:
        ray.cloudpickle.unregister_pickle_by_value(module)
        del sys.modules[module.__name__]
    assert os.getpid() == module.DRIVER


RECORDING_ON_WORKERS = """
import os
import numpy as np

LOG = os.environ["ONEPIXEL_TEST_BATCH_LOG"]

def model(batch):
    with open(LOG, "a") as log:
        log.write(f"{len(batch)}\\n")
    brightest = batch.reshape(len(batch), -1).max(axis=1)
    return np.stack([5.0 - brightest / 20.0, np.zeros(len(batch))], axis=1)
"""


def test_max_batch_caps_every_batch_an_actor_sends(local_ray, tmp_path, monkeypatch) -> None:
    """Actors search with the local run's batch and confirm one image at a time, as the local
    run does (they once confirmed 32 at a time whatever `max_batch` said); any bright pixel
    fools this model, so there is much to confirm."""
    log = tmp_path / "batches.log"
    monkeypatch.setenv("ONEPIXEL_TEST_BATCH_LOG", str(log))
    module = types.ModuleType("recording_on_workers")
    exec(RECORDING_ON_WORKERS, module.__dict__)
    sys.modules[module.__name__] = module
    ray.cloudpickle.register_pickle_by_value(module)
    try:
        images, labels = np.zeros((40, 1, 4, 4), np.uint8), np.zeros(40, int)
        runs = {
            executor: attack(module.model, images, labels, executor=executor, max_batch=4)
            for executor in ("local", "ray")
        }
    finally:
        ray.cloudpickle.unregister_pickle_by_value(module)
        del sys.modules[module.__name__]
    assert runs["ray"].records == runs["local"].records
    assert runs["ray"].success_rate > 0.5
    sizes = [int(line) for line in log.read_text().split()]
    assert max(sizes) == 4, sorted(set(sizes))


def test_executor_ray_from_the_command_line(repo) -> None:
    write_gates(repo)
    local = repo.runpytest_subprocess("--onepixel-budget=20", "--onepixel-report=local.json")
    distributed = repo.runpytest_subprocess(
        "--onepixel-budget=20", "--onepixel-executor=ray", "--onepixel-report=ray.json"
    )
    assert local.ret == distributed.ret == 1
    gates = [
        json.loads((repo.path / name).read_text())["gates"] for name in ("local.json", "ray.json")
    ]
    assert [g["records"] for g in gates[0]] == [g["records"] for g in gates[1]]
