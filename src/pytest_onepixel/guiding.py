"""Gradient guidance for the default search (issue 22): which model gets a gradient guide, and
the guide itself.

The team owns the model under test, so the gate need not be black-box: the model's margin
gradient ranks every (position, corner colour) before DE starts (engine/guidance.py). The
gradient comes from the same float64 graph `search: certify` proves on (certify/: torch.fx for
PyTorch, ONNX read op by op, the plugin's preprocessing as its first node), so ONNX files are
guided too; a model whose graph does not convert, or whose graph does not classify as the model
does, is searched without guidance, and the report says why.

Two things keep a verdict from depending on anything but the image. The gradient is charged as a
stated number of queries per image (`GRADIENT_CHARGE`), never a timing, so records do not
depend on the machine; bench/guidance.py measures the real cost against it: 12-26 queries'
time on the CIFAR ResNet-18, but 30-60 on the small bench CNNs on a quiet machine, whose
queries are float32 passes on ONNX Runtime's threads while the gradient's float64
convolutions run on one. A charge that covered it costs strength: bench/charge.py swept it, and
at 36 or more the colour bench model falls below 0.90 of its corner limit at budget 100 (0.849
at 40), while the guided gate's wall time reaches the black-box one's only at about 40.
And gradients are computed in chunks only when a probe finds a chunk's gradients bit-identical
to each image's alone (as float64 convolutions on CPU are); otherwise one image per call, so an
image's ranking never depends on which images share its chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from .engine.guidance import rank_by_gradients
from .engine.layouts import channel_last_view
from .engine.pixels import ImageSet
from .engine.presets import guided_popsize
from .engine.search import job_arrays
from .errors import InputError, UnsupportedOpError
from .importing import first_line

#: Queries charged per guided image for its gradient (one float64 forward and two backward
#: passes through the graph), each query counted at the model's best batch through ONNX Runtime:
#: bench/guidance.md measured 26-60 on a quiet machine (see the module docstring).
GRADIENT_CHARGE = 20
#: Images per gradient call when the probe finds chunked gradients bit-identical.
GRADIENT_CHUNK = 64
#: Attacked images the converted graph must classify as the model does before it guides.
CHECKED = 16


@dataclass
class GradientGuide:
    """Ranks candidates by the first-order margin change from one gradient per image."""

    graph: object  # certify.graph.Graph
    layout: str  # the model's input layout
    charge: int = GRADIENT_CHARGE
    name: str = "gradient"
    exact: bool | None = field(default=None)  # chunked gradients bit-identical (None: unprobed)

    def ranked(
        self,
        images: ImageSet,
        owners: np.ndarray,
        labels: np.ndarray,
        targets: np.ndarray,
        limit: int,
    ) -> np.ndarray:
        batch = images.model_images[owners]
        with one_torch_thread():
            if self.exact is None:
                self.exact = self.probe_exact(batch, labels, targets)
            chunk = GRADIENT_CHUNK if self.exact else 1
            parts = [
                margin_gradients(self.graph, batch[part], labels[part], targets[part])
                for part in (slice(s, s + chunk) for s in range(0, len(batch), chunk))
            ]
        gradients = np.concatenate(parts, axis=1)
        shape = (len(gradients), len(owners), images.height, images.width, images.channels)
        channel_last = [channel_last_view(g, self.layout) for g in gradients]
        return rank_by_gradients(images, owners, np.stack(channel_last).reshape(shape), limit)

    def probe_exact(self, batch: np.ndarray, labels: np.ndarray, targets: np.ndarray) -> bool:
        """Whether the first two images' gradients in one chunk are those of each alone (a
        chunk of one image's two copies when only one is at hand)."""
        pick = np.arange(2) % len(batch)
        together = margin_gradients(self.graph, batch[pick], labels[pick], targets[pick])
        alone = [margin_gradients(self.graph, batch[[i]], labels[[i]], targets[[i]]) for i in pick]
        return all((gradient[:, 0] == together[:, n]).all() for n, gradient in enumerate(alone))


def margin_gradients(
    graph, batch: np.ndarray, labels: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """(2, n, *input) float64 gradients of two margins of each image: the score of the class to
    keep less the best score it must stay above, and a smooth margin, the same score less the
    log-sum-exp of all of them (untargeted: the label over every other class; targeted: every
    other class over the target). One forward pass and two backward passes. On the colour
    bench model the two rankings interleaved found more fooled images than either alone
    (bench/guidance.md): the first follows the likeliest class to take over, the second every
    class that could."""
    import torch

    from .certify.forward import forward_node

    x = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    values = [x]
    for node in graph.nodes[1:]:
        values.append(forward_node(node, [values[i] for i in node.inputs]))
    scores = values[graph.output]
    sign = torch.where(torch.as_tensor(targets) >= 0, -1.0, 1.0).to(torch.float64)
    gradients = []
    for weights in _margin_weights(scores.detach(), labels, targets):
        cotangent = sign[:, None] * weights
        (gradient,) = torch.autograd.grad(scores, x, cotangent, retain_graph=True)
        gradients.append(gradient.numpy())
    return np.stack(gradients)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the guide's torch work (the graph's conversion, its check, the probe and the
    gradients) on one thread, restored after (bench/guidance.md, "Notes"). Two threads ran the
    gradient 1.6-1.8x faster on an idle 2-core machine once ONNX Runtime's workers stopped
    spinning soon after each call, but 1.4-5.8x slower while another process kept a core busy
    (an OpenMP region waits for its slowest thread): a CI runner is often busy. On one thread
    the set-up also took 6 ms per attack on the digits bench model, against 20 when its
    convolutions ran on torch's default threads beside spinning ONNX Runtime workers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _margin_weights(scores, labels: np.ndarray, targets: np.ndarray) -> tuple:
    """d margin / d scores for both margins, (n, classes) each: +1 at the class to keep and the
    weights of the classes it must stay above (one-hot at the best of them; their softmax for
    the log-sum-exp), before the targeted sign flip. The scores of a chunk may differ from an
    image's alone in their last bits (a batched matmul sums in another order); rounded to
    float32 first, the weights come out the same (the probe checks it)."""
    import torch

    rows = torch.arange(len(scores))
    chosen = torch.as_tensor(np.where(targets >= 0, targets, labels))
    rest = scores.float().double()  # float32 rounding absorbs a chunk's last bits
    rest[rows, chosen] = -torch.inf
    hard = torch.zeros_like(scores)
    hard[rows, rest.argmax(dim=1)] = -1.0
    smooth = -torch.softmax(rest, dim=1)
    hard[rows, chosen] = smooth[rows, chosen] = 1.0
    return hard, smooth


def guide_plan(plan, model: object, images: ImageSet, jobs: list, settings):
    """The search plan with its guide, the report's `guidance` block (what was used, its charge
    and why not), and a note when `auto` wanted a gradient and could not have one. `auto`
    guides by gradient where the preset takes guidance and the model's graph converts and
    classifies as the model does; `gradient` must get a guide (else a usage error says why);
    `none` searches black-box. A guided plan whose population was not set takes
    `guided_popsize`."""
    guidance = settings.guidance
    why = _unguided_reason(plan, guidance)
    wanted = why is None
    if wanted:
        try:
            with one_torch_thread():
                guide = _gradient_guide(model, images, jobs)
        except ImportError:
            why = "torch is not installed (pip install 'pytest-onepixel[torch]')"
        except (UnsupportedOpError, InputError) as error:
            why = f"no gradient: the model's graph does not convert ({error})"
        else:
            if guide.charge * 2 > plan.budget:
                why = f"the gradient's charge ({guide.charge} queries) is over half the budget"
            else:
                report = {"used": "gradient", "charge": guide.charge, "exact": guide.exact}
                popsize = settings.popsize or plan.preset.popsize or guided_popsize(plan.budget)
                return replace(plan, guide=guide, popsize=min(popsize, plan.budget)), report, ()
    if guidance == "gradient":
        raise InputError(
            f"guidance 'gradient' cannot be used here: {why}. Set `guidance: auto` (gradients "
            "where they can be had) or `guidance: none`."
        )
    note = f"search not guided by the model's gradient: {why}" if wanted else None
    return plan, {"used": "none", "charge": 0, "reason": why}, (note,) if note else ()


def _graph(model: object, images: ImageSet):
    """The model's graph; for a PyTorch model that torch.fx cannot trace (a TorchScript
    module), the graph of its ONNX export (models/twin.py), so that every format of one network
    is guided alike. The graph is checked against the model itself either way."""
    from .models.onnx_model import OnnxModel
    from .models.preprocess import PreprocessedModel
    from .models.torch_model import TorchModel

    inner = model.inner if isinstance(model, PreprocessedModel) else model
    if not isinstance(inner, TorchModel | OnnxModel):  # e.g. a plain callable: no graph
        raise UnsupportedOpError(f"{type(inner).__name__} is neither a PyTorch nor an ONNX model")
    from .certify import graph_of

    shape = images.model_images.shape[1:]
    try:
        return graph_of(model, shape)
    except UnsupportedOpError:
        if not isinstance(inner, TorchModel):
            raise
    from .models.twin import onnx_twin

    try:
        twin = onnx_twin(inner, images.model_images[:2], 1)
    except Exception as error:  # no export, no graph: the search runs unguided
        raise UnsupportedOpError(f"{type(error).__name__}: {first_line(error)}") from None
    if isinstance(model, PreprocessedModel):
        twin = PreprocessedModel(twin, model.preprocess, model.layout)
    return graph_of(twin, shape)


def _unguided_reason(plan, guidance: str) -> str | None:
    if guidance == "none":
        return "guidance: none"
    if not plan.preset.guided:
        return f"preset {plan.preset.name!r} takes no guidance"
    if plan.method == "exhaustive" or plan.pixels != 1:
        return "guidance ranks the one-pixel candidates of a DE search only"
    return None


def _gradient_guide(model: object, images: ImageSet, jobs: list) -> GradientGuide:
    """The model's graph, checked to classify the first attacked images as the model does (a
    graph that does not would rank by another model's gradient), and its chunking probed."""
    graph = _graph(model, images)
    owners, labels, targets = job_arrays(jobs[:CHECKED])
    guide = GradientGuide(graph, images.model_layout)
    if len(owners):
        predicted = graph.run(images.model_images[owners]).numpy().argmax(1)
        if (predicted != labels).any():
            raise UnsupportedOpError(
                "the converted graph does not classify the attacked images as the model does"
            )
        guide.exact = guide.probe_exact(images.model_images[owners], labels, targets)
    return guide
