#!/usr/bin/python3
"""Write torchvision's detection models as users build them (torchvision 0.14's builders,
weights=None, weights_backbone=None, random weights from a fixed seed), traced in eval
mode with torch 1.13 as torchvision's own ONNX tests trace them, and torchvision's
detections on several input sets, for tests/e2e/detection_zoo_test.cpp.

Usage: /usr/bin/python3 tests/tools/make_detection_zoo.py OUTDIR [--only a,b]

For each model NAME:
    OUTDIR/NAME.pt          the traced model: forward(images [1, 3, H, W]) calls the
                            detector on the list of the batch's images and returns the
                            first image's detections (a dict: boxes, labels, scores, ...)
    OUTDIR/NAME/io_K/       io.json + .bin files (tests/tools/make_io.py's format): input
                            set K and torchvision's detections for it. The sets differ in
                            data only, and the number of detections kept differs between
                            every two of them (checked here).
OUTDIR/models.json: {NAME: {"input_spec": "images:float32:1x3x96x96", "opset": 16,
                            "sets": N, "kept": [...], "outputs": [...]}}

Random weights score every box about alike; the heads' weights are drawn again wider
(seeded) so scores spread, and the score threshold (a builder argument) is set from
the first set's scores so that some detections are kept and their count follows the
image. Small images and sizes keep the whole zoo to seconds. Cached: OUTDIR/models.stamp
holds a hash of this script, make_io.py and the torch version; the models are made again
only when it differs (under a lock: the tests that call this run in parallel).
"""

import fcntl
import hashlib
import json
import os
import sys
import warnings

import torch
import torchvision
from torch import nn
from torchvision.models import detection

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_io import write_io_dir  # noqa: E402

warnings.filterwarnings("ignore")
SETS = 4
NO_WEIGHTS = dict(weights=None, weights_backbone=None)


class FirstImageDetections(nn.Module):
    """The detector on a batch tensor as a list of images (as torchvision's ONNX tests
    call it); the first image's detections."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model(list(images.unbind(0)))[0]


# name -> (builder, builder arguments, image side, score-threshold argument, opset,
#          gain of the redrawn head weights: their std is gain / sqrt(fan-in))
MODELS = {
    "ssdlite320_mobilenet_v3_large": (detection.ssdlite320_mobilenet_v3_large,
                                      dict(num_classes=4, detections_per_img=40, topk_candidates=60),
                                      96, "score_thresh", 11, 0.2),
    "fasterrcnn_mobilenet_v3_large_320_fpn": (detection.fasterrcnn_mobilenet_v3_large_320_fpn,
                                              dict(num_classes=4, min_size=160, max_size=160,
                                                   rpn_pre_nms_top_n_test=60, rpn_post_nms_top_n_test=30,
                                                   box_detections_per_img=30),
                                              128, "box_score_thresh", 11, 1.0),
    "retinanet_resnet50_fpn": (detection.retinanet_resnet50_fpn,
                               dict(num_classes=4, min_size=128, max_size=128, topk_candidates=50,
                                    detections_per_img=30),
                               96, "score_thresh", 11, 0.6),
    "fcos_resnet50_fpn": (detection.fcos_resnet50_fpn,
                          dict(num_classes=4, min_size=128, max_size=128, topk_candidates=50,
                               detections_per_img=30),
                          96, "score_thresh", 11, 2.0),
    "maskrcnn_resnet50_fpn": (detection.maskrcnn_resnet50_fpn,
                              dict(num_classes=4, min_size=128, max_size=128, rpn_pre_nms_top_n_test=60,
                                   rpn_post_nms_top_n_test=30, box_detections_per_img=20),
                              96, "box_score_thresh", 11, 0.45),
    "keypointrcnn_resnet50_fpn": (detection.keypointrcnn_resnet50_fpn,
                                  dict(num_classes=2, num_keypoints=5, min_size=128, max_size=128,
                                       rpn_pre_nms_top_n_test=60, rpn_post_nms_top_n_test=30,
                                       box_detections_per_img=20),
                                  96, "box_score_thresh", 11, 0.45),
}


def build(name, threshold):
    builder, kwargs, _, thresh_arg, _, gain = MODELS[name]
    torch.manual_seed(0)
    model = builder(**NO_WEIGHTS, **kwargs, **{thresh_arg: threshold})
    # Heads and the FPN get wider weights than their initializers' (std 0.01 and
    # priors that put every score near 0.01), so scores and boxes differ between boxes.
    g = torch.Generator().manual_seed(1)
    for module_name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)) and "backbone.body" not in module_name \
                and "backbone.features" not in module_name:
            fan_in = module.weight[0].numel()
            # Box regression stays small: boxes near their anchors, not clipped to nothing.
            std = (0.1 if "bbox" in module_name or "regression" in module_name else gain) / fan_in ** 0.5
            module.weight.data = torch.randn(module.weight.shape, generator=g) * std
            if module.bias is not None:
                module.bias.data = torch.randn(module.bias.shape, generator=g) * 0.1
    wrapped = FirstImageDetections(model.eval()).eval()
    calibrate_batch_norm(wrapped, MODELS[name][2])
    return wrapped


def calibrate_batch_norm(model, side):
    """Batch-norm statistics of a few random images (the defaults, mean 0 and variance 1,
    let activations die out in a random network, and every box gets the same score)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
        m.train()
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        model(torch.rand(4, 3, side, side, generator=g))
    for m in norms:
        m.eval()


def input_sets(side):
    """Smooth random images (blobs of colour), a different pattern in each set."""
    sets = []
    for k in range(SETS):
        g = torch.Generator().manual_seed(200 + k)
        coarse = torch.rand(1, 3, 6 + 2 * k, 6 + 2 * k, generator=g)
        image = nn.functional.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=False)
        sets.append(image.clamp(0, 1))
    return sets


def set_threshold(model, threshold):
    detector = model.model
    target = detector.roi_heads if hasattr(detector, "roi_heads") else detector
    target.score_thresh = threshold


def kept_counts(model, sets):
    with torch.no_grad():
        return [int(model(images)["scores"].shape[0]) for images in sets]


def choose_threshold(name, sets):
    """A score threshold under which every set keeps some detections and no two sets
    keep as many: tried between the scores the sets get without one."""
    model = build(name, 0.0)
    with torch.no_grad():
        scores = torch.cat([model(images)["scores"] for images in sets])
        lowest_best = min(float(model(images)["scores"].max()) for images in sets)
    # Midway between two scores at least 4e-4 apart: no score sits so near the
    # threshold that float rounding in another runtime moves it across.
    values = sorted({float(v) for v in scores if float(v) < lowest_best}, reverse=True)
    candidates = [(a + b) / 2 for a, b in zip(values, values[1:]) if a - b > 4e-4]
    for t in candidates:
        set_threshold(model, t)
        kept = kept_counts(model, sets)
        if len(set(kept)) == len(kept) and min(kept) > 0:
            return t
    raise AssertionError("%s: no score threshold keeps a different number of detections in every set" % name)


def make(out, names):
    manifest = {}
    for name in names:
        _, _, side, _, opset, _ = MODELS[name]
        sets = input_sets(side)
        model = build(name, choose_threshold(name, sets))
        with torch.no_grad():
            traced = torch.jit.trace(model, (sets[0],), strict=False, check_trace=False)
        path = os.path.join(out, name + ".pt")
        traced.save(path + ".tmp")
        os.replace(path + ".tmp", path)
        kept, keys = [], None
        with torch.no_grad():
            for k, images in enumerate(sets):
                result = model(images)
                again = traced(images)
                keys = list(result.keys())
                for key in keys:
                    a, b = result[key], again[key]
                    assert a.shape == b.shape and torch.allclose(a.float(), b.float()), \
                        "%s: the trace differs from the model on input set %d (%s)" % (name, k, key)
                kept.append(int(result["scores"].shape[0]))
                write_io_dir(os.path.join(out, name, "io_%d" % k), [("images", images)],
                             [(key, result[key]) for key in keys])
        assert len(set(kept)) == len(kept) and min(kept) > 0, "%s: kept counts %s are not all different" % (name, kept)
        manifest[name] = {"input_spec": "images:float32:1x3x%dx%d" % (side, side), "opset": opset,
                          "sets": len(sets), "kept": kept, "outputs": keys}
        print("%s: kept %s" % (name, kept))
    return manifest


def stamp():
    h = hashlib.sha256((torch.__version__ + torchvision.__version__).encode())
    for name in (__file__, os.path.join(HERE, "make_io.py")):
        with open(name, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def main(argv):
    if not argv or len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--only"):
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[0]
    names = argv[2].split(",") if len(argv) == 3 else list(MODELS)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_path = os.path.join(out, "models.stamp")
        wanted = stamp() + ",".join(names)
        if os.path.exists(stamp_path) and open(stamp_path).read() == wanted:
            return 0
        manifest = make(out, names)
        with open(os.path.join(out, "models.json"), "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        with open(stamp_path, "w") as f:
            f.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
