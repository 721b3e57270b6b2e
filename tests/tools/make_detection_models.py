#!/usr/bin/python3
"""Write small models calling torchvision.ops, traced with torch 1.13 + torchvision 0.14,
and torchvision's own results on several input sets, for tests/e2e/detection_ops_test.cpp.

Usage: /usr/bin/python3 tests/tools/make_detection_models.py OUTDIR

For each model NAME:
    OUTDIR/NAME.pt          the traced model (torch.jit.trace)
    OUTDIR/NAME/io_K/       io.json + .bin files (tests/tools/make_io.py's format): input
                            set K and torchvision's outputs for it. The sets differ in data
                            only (same shapes), and the number of boxes nms keeps differs
                            between them (checked here).
OUTDIR/models.json: {NAME: {"input_spec": "x:float32:64x6", "opset": 16, "sets": N,
                            "kept": [...], "error": "..."}}; "error" (models with no ONNX
                            form) is a text the export error must contain.
"""

import json
import os
import sys

import torch
import torchvision
from torch import nn
from torchvision.ops import batched_nms, nms, ps_roi_align, ps_roi_pool, roi_align, roi_pool
from torchvision.ops import DeformConv2d

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
from make_io import write_io_dir  # noqa: E402
from out_dir_argument import out_dir_argument  # noqa: E402
import zoo_models  # noqa: E402


def boxes_from(x, size=16.0):
    """(x1, y1, x2, y2) boxes inside a size x size map from raw numbers."""
    xy = torch.sigmoid(x[:, 0:2]) * size * 0.75
    wh = torch.sigmoid(x[:, 2:4]) * size * 0.5 + 0.5
    return torch.cat([xy, xy + wh], dim=1)


class BoxScorer(nn.Module):
    def forward(self, x):
        return boxes_from(x), torch.sigmoid(x[:, 4])


class NmsModel(nn.Module):
    """Boxes and scores from a [N, 6] input; the kept boxes, scores and indices."""

    def __init__(self):
        super().__init__()
        self.scorer = BoxScorer()

    def forward(self, x):
        boxes, scores = self.scorer(x)
        keep = nms(boxes, scores, 0.4)
        return boxes[keep], scores[keep], keep


class BatchedNmsModel(nn.Module):
    """Per-class NMS (torchvision's coordinate-offset trick over nms), top 24 kept."""

    def __init__(self):
        super().__init__()
        self.scorer = BoxScorer()

    def forward(self, x):
        boxes, _ = self.scorer(x)
        scores, labels = torch.softmax(x[:, 4:], dim=1).max(dim=1)
        keep = batched_nms(boxes, scores, labels, 0.3)[:24]
        return boxes[keep], scores[keep], labels[keep]


class RoiHead(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, image, raw):
        features = torch.relu(self.conv(image))
        index = (raw[:, 5:6] > 0).to(raw.dtype)  # image 0 or 1 of the batch
        rois = torch.cat([index, boxes_from(raw[:, :4], 32.0)], dim=1)
        return self.op(features, rois)


def roi_align_ops(features, rois):
    return (roi_align(features, rois, (3, 3), spatial_scale=0.5, sampling_ratio=2, aligned=True),
            roi_align(features, rois, (2, 4), spatial_scale=0.5, sampling_ratio=-1, aligned=False))


def roi_align_list(features, rois):
    # The list-of-boxes form: one [L, 4] tensor per image.
    return roi_align(features, [rois[:3, 1:], rois[3:, 1:]], 2, spatial_scale=0.5, aligned=True)


class Named(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, features, rois):
        return self.fn(features, rois)


def models():
    """name -> (module, input shapes, opset, error text or None)."""
    return {
        "tv_nms": (NmsModel(), {"x": [64, 6]}, 11, None),
        "tv_batched_nms": (BatchedNmsModel(), {"x": [48, 7]}, 11, None),
        # The zoo's detection head: decoding, pre-NMS top-k, batched_nms, top min(40, kept).
        "tv_tiny_detector": (zoo_models.TinyDetector(), {"image": [1, 3, 64, 64]}, 11, None),
        "tv_roi_align": (RoiHead(Named(roi_align_ops)), {"image": [2, 3, 32, 32], "raw": [6, 6]}, 16, None),
        "tv_roi_align_list": (RoiHead(Named(roi_align_list)), {"image": [2, 3, 32, 32], "raw": [6, 6]}, 16, None),
        "tv_roi_pool": (RoiHead(Named(lambda f, r: roi_pool(f, r, (3, 2), 0.5))),
                        {"image": [2, 3, 32, 32], "raw": [6, 6]}, 11, None),
        "tv_ps_roi_align": (RoiHead(Named(lambda f, r: ps_roi_align(f, r, 2, 0.5, 2))),
                            {"image": [2, 3, 32, 32], "raw": [6, 6]}, 16, None),
        "tv_ps_roi_pool": (RoiHead(Named(lambda f, r: ps_roi_pool(f, r, 2, 0.5))),
                           {"image": [2, 3, 32, 32], "raw": [6, 6]}, 16, "ONNX has no average RoI pooling"),
        "tv_deform_conv2d": (DeformHead(), {"image": [1, 3, 12, 12]}, 17, "DeformConv"),
    }


class DeformHead(nn.Module):
    """DeformConv2d with offsets and a mask predicted by a convolution."""

    def __init__(self):
        super().__init__()
        self.offsets = nn.Conv2d(3, 3 * 3 * 3, 3, padding=1)
        self.deform = DeformConv2d(3, 4, 3, padding=1)

    def forward(self, image):
        o = self.offsets(image)
        return self.deform(image, o[:, :18], torch.sigmoid(o[:, 18:]))


def input_sets(shapes, count):
    """Set 0 is standard normal; the others scaled or shifted so more or fewer boxes overlap."""
    sets = []
    for k in range(count):
        g = torch.Generator().manual_seed(100 + k)
        scale = [1.0, 2.5, 0.6, 1.5][k % 4]
        sets.append({name: torch.randn(shape, generator=g) * scale for name, shape in shapes.items()})
    return sets


def kept_count(model, inputs):
    if not isinstance(model, (NmsModel, BatchedNmsModel, zoo_models.TinyDetector)):
        return None
    return int(model(*inputs)[0].shape[0])


def main(argv):
    out = out_dir_argument(argv, __doc__)
    manifest = {}
    for name, (model, shapes, opset, error) in models().items():
        torch.manual_seed(0)
        # Small weights for the detector: larger ones saturate its sigmoid scores at 1.0,
        # and NMS over tied scores may keep any of the tied boxes.
        std = 0.1 if isinstance(model, zoo_models.TinyDetector) else 0.3
        for p in model.parameters():
            p.data.normal_(0, std)
        model.eval()
        sets = input_sets(shapes, 4)
        example = tuple(sets[0].values())
        with torch.no_grad():
            traced = torch.jit.trace(model, example, check_trace=False)
        path = os.path.join(out, name + ".pt")
        traced.save(path + ".tmp")
        os.replace(path + ".tmp", path)
        kept = []
        with torch.no_grad():
            for k, inputs in enumerate(sets):
                values = tuple(inputs.values())
                result = model(*values)
                result = result if isinstance(result, tuple) else (result,)
                again = traced(*values)
                again = again if isinstance(again, tuple) else (again,)
                for a, b in zip(result, again):
                    assert a.shape == b.shape and torch.allclose(a, b), name + ": the trace differs on input set %d" % k
                kept.append(kept_count(model, values))
                write_io_dir(os.path.join(out, name, "io_%d" % k), list(inputs.items()),
                             [("output_%d" % i, t) for i, t in enumerate(result)])
        if kept[0] is not None:
            assert len(set(kept)) > 1, "%s: every input set keeps %s boxes" % (name, kept[0])
        spec = ",".join("%s:float32:%s" % (n, "x".join(str(d) for d in s)) for n, s in shapes.items())
        manifest[name] = {"input_spec": spec, "opset": opset, "sets": len(sets), "kept": kept}
        if error:
            manifest[name]["error"] = error
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("make_detection_models: wrote %d models to %s (torch %s, torchvision %s)"
          % (len(manifest), out, torch.__version__, torchvision.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
