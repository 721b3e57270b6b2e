#!/usr/bin/env python3
"""Write small quantized models (torch.ao, x86 engine), traced and saved with the venv's
torch 2.13, and PyTorch's own outputs on input sets other than the export's, for
tests/e2e/quantized_models_test.cpp.

Usage: .venv/bin/python tests/tools/make_quantized_models.py OUTDIR

For each model NAME:
    OUTDIR/NAME.pt          the traced quantized model (torch.jit.trace after convert)
    OUTDIR/NAME/io_K/       io.json + .bin files (tests/tools/make_io.py's format): input
                            set K (random, not the export's example inputs) and the quantized
                            model's outputs for it
OUTDIR/models.json: {NAME: {"input_spec": "x:float32:1x3x32x32", "sets": N, "step": S,
                            "ops": [...]}}; "step" is the output's quantization step (its
                            scale; for dynamic models, whose outputs are float, 0) and "ops"
                            the quantized TorchScript ops the graph calls.
Weights are random and every model is calibrated on random data (seeded: the same files
each time). Cached: OUTDIR/models.stamp holds a hash of this script, make_io.py and the
torch version, and the models are made again only when it differs (under a lock, as the
tests that call this run in parallel).
"""

import fcntl
import hashlib
import json
import os
import sys
import warnings

import torch
from torch import nn
import torch.ao.quantization as tq
from torch.ao.nn.quantized import FloatFunctional
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_io import write_io_dir  # noqa: E402

warnings.filterwarnings("ignore")
ENGINE = "x86"
SETS = 3


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout, k=3, stride=1, groups=1, relu=True):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 project; the skip adds through
    FloatFunctional so the quantized add has its own scale."""

    def __init__(self, cin, cout, stride, expand=4):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            ConvBNReLU(cin, hidden, 1),
            ConvBNReLU(hidden, hidden, 3, stride, groups=hidden),
            ConvBNReLU(hidden, cout, 1, relu=False),
        )
        self.skip = FloatFunctional()

    def forward(self, x):
        y = self.conv(x)
        return self.skip.add(x, y) if self.residual else y


class SqueezeExcite(nn.Module):
    """MobileNetV3's gate: pooled 1x1 convs, hardsigmoid, a quantized mul."""

    def __init__(self, c):
        super().__init__()
        self.reduce = nn.Conv2d(c, c // 4, 1)
        self.relu = nn.ReLU()
        self.expand = nn.Conv2d(c // 4, c, 1)
        self.gate = nn.Hardsigmoid()
        self.scale = FloatFunctional()

    def forward(self, x):
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        s = self.gate(self.expand(self.relu(self.reduce(s))))
        return self.scale.mul(x, s)


class QuantMobileNetLike(nn.Module):
    """Eager-mode quantized (QuantStub/DeQuantStub, fused conv-bn-relu): a MobileNetV2
    stem and inverted residuals, a squeeze-excite gate, two heads joined by a quantized
    cat, hardswish, max pooling, add_relu, pooling, flatten and a Linear classifier."""

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.stem = ConvBNReLU(3, 8, 3, 2)
        self.blocks = nn.Sequential(InvertedResidual(8, 8, 1), InvertedResidual(8, 16, 2), InvertedResidual(16, 16, 1))
        self.se = SqueezeExcite(16)
        self.left = nn.Conv2d(16, 8, 1)
        self.right = nn.Conv2d(16, 8, 3, padding=1)
        self.join = FloatFunctional()
        self.head = nn.Conv2d(16, 32, 1)
        self.act = nn.Hardswish()
        self.pool = nn.MaxPool2d(2)
        self.mix = nn.Conv2d(32, 32, 1)
        self.merge = FloatFunctional()
        self.classifier = nn.Linear(32, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.se(self.blocks(self.stem(self.quant(x))))
        x = self.join.cat([self.left(x), self.right(x)], dim=1)
        x = self.pool(self.act(self.head(x)))
        x = self.merge.add_relu(x, self.mix(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.dequant(self.classifier(x))

    def fuse(self):
        for m in self.modules():
            if isinstance(m, ConvBNReLU):
                tq.fuse_modules(m, [["0", "1", "2"]] if len(m) == 3 else [["0", "1"]], inplace=True)


class QuantizableBasicBlock(nn.Module):
    """torchvision's quantizable ResNet BasicBlock: conv-bn-relu, conv-bn, an optional
    conv-bn downsample, and the skip joined by FloatFunctional.add_relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.add_relu = FloatFunctional()

    def forward(self, x):
        identity = x
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.add_relu.add_relu(out, identity)

    def fuse(self):
        tq.fuse_modules(self, [["conv1", "bn1", "relu"], ["conv2", "bn2"]], inplace=True)
        if self.downsample is not None:
            tq.fuse_modules(self.downsample, ["0", "1"], inplace=True)


class QuantizableResNet18(nn.Module):
    """torchvision.models.quantization.resnet18's structure (QuantStub, 7x7 stem conv-bn-relu,
    max pooling, four stages of two BasicBlocks, adaptive average pooling, flatten, fc,
    DeQuantStub) at a smaller width; torchvision's init (kaiming conv weights) with random
    batch-norm statistics."""

    def __init__(self, width=16, classes=10):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], width
        for i, cout in enumerate([width, 2 * width, 4 * width, 8 * width]):
            stages.append(nn.Sequential(QuantizableBasicBlock(cin, cout, 1 if i == 0 else 2),
                                        QuantizableBasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, classes)
        self.dequant = tq.DeQuantStub()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.uniform_(m.bias, -0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.quant(x)))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.dequant(self.fc(torch.flatten(self.avgpool(x), 1)))

    def fuse(self):
        tq.fuse_modules(self, ["conv1", "bn1", "relu"], inplace=True)
        for m in self.modules():
            if isinstance(m, QuantizableBasicBlock):
                m.fuse()


class SmallCnn(nn.Module):
    """For FX quantization: conv-bn-relu (fused), a conv with a functional relu, a
    residual add, max pooling, Linear-ReLU (fused), Linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(8 * 8 * 8, 32)
        self.relu2 = nn.ReLU()
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.pool(x + torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc2(self.relu2(self.fc1(x)))


class LinearStack(nn.Module):
    """A transformer-ish feed-forward stack over [batch, tokens, features]: Linear, GELU,
    Linear, a residual add and LayerNorm, twice; then a Linear head."""

    def __init__(self, d=16, hidden=32, layers=2):
        super().__init__()
        self.ups = nn.ModuleList(nn.Linear(d, hidden) for _ in range(layers))
        self.downs = nn.ModuleList(nn.Linear(hidden, d) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(layers))
        self.head = nn.Linear(d, 4)

    def forward(self, x):
        for up, down, norm in zip(self.ups, self.downs, self.norms):
            x = norm(x + down(nn.functional.gelu(up(x))))
        return self.head(x)


class LstmTagger(nn.Module):
    """An LSTM and a Linear head, for dynamic quantization of both (refused: aten::quantized_lstm)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def calibrate(model, shape, batches=8):
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(shape))


def eager_mobilenet(shape):
    model = QuantMobileNetLike().eval()
    model.fuse()
    model.qconfig = tq.get_default_qconfig(ENGINE)
    tq.prepare(model, inplace=True)
    calibrate(model, shape)
    tq.convert(model, inplace=True)
    return model, model.classifier.scale


def q_resnet18(shape):
    """Eager mode as torchvision quantizes it: fuse, the x86 qconfig (per-channel weights),
    prepare, calibrate, convert. Calibrated on inputs twice as wide as the test sets', so
    that their levels stay in the range the observers saw (fbgemm sums pairs of uint8 x
    int8 products in int16 without VNNI; levels past it saturate in PyTorch itself)."""
    model = QuantizableResNet18().eval()
    model.fuse()
    model.qconfig = tq.get_default_qconfig(ENGINE)
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(8):
            model(torch.randn(shape) * 2)
    tq.convert(model, inplace=True)
    return model, model.fc.scale


def fx_model(float_model, shape):
    example = (torch.randn(shape),)
    prepared = prepare_fx(float_model.eval(), tq.get_default_qconfig_mapping(ENGINE), example)
    calibrate(prepared, shape)
    return convert_fx(prepared)


def quantized_ops(traced):
    kinds = sorted({n.kind() for n in traced.inlined_graph.nodes()
                    if n.kind().startswith("quantized::") or "quantize" in n.kind()})  # quantized_lstm too
    return kinds


def save(outdir, manifest, name, model, shape, step):
    example = torch.randn(shape)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    path = os.path.join(outdir, name + ".pt")
    traced.save(path)
    loaded = torch.jit.load(path)
    for k in range(SETS):
        x = torch.randn(shape) * (1.0 + 0.25 * k)
        with torch.no_grad():
            y = loaded(x)
        write_io_dir(os.path.join(outdir, name, "io_%d" % k), [("x", x)], [("output", y)])
    manifest[name] = {"input_spec": "x:float32:" + "x".join(str(d) for d in shape), "sets": SETS,
                      "step": float(step), "ops": quantized_ops(loaded)}


def stamp():
    h = hashlib.sha256(torch.__version__.encode())
    for name in (__file__, os.path.join(HERE, "make_io.py")):
        with open(name, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_path = os.path.join(outdir, "models.stamp")
        wanted = stamp()
        if os.path.exists(stamp_path) and open(stamp_path).read() == wanted:
            return
        make(outdir)
        with open(stamp_path, "w") as f:
            f.write(wanted)


def make(outdir):
    torch.backends.quantized.engine = ENGINE
    torch.manual_seed(0)
    manifest = {}

    shape = (1, 3, 32, 32)
    model, step = eager_mobilenet((4,) + shape[1:])
    save(outdir, manifest, "q_eager_mobilenet", model, shape, step)

    torch.manual_seed(1)
    cnn = fx_model(SmallCnn(), (4, 3, 16, 16))
    save(outdir, manifest, "q_fx_cnn", cnn, (2, 3, 16, 16), fx_output_scale(cnn))

    torch.manual_seed(2)
    stack = fx_model(LinearStack(), (4, 6, 16))
    save(outdir, manifest, "q_fx_linear_stack", stack, (2, 6, 16), fx_output_scale(stack))

    torch.manual_seed(3)
    dynamic = tq.quantize_dynamic(LinearStack().eval(), {nn.Linear}, dtype=torch.qint8)
    save(outdir, manifest, "q_dynamic_linear_stack", dynamic, (2, 6, 16), 0.0)

    torch.manual_seed(4)
    lstm = tq.quantize_dynamic(LstmTagger().eval(), {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    save(outdir, manifest, "q_dynamic_lstm", lstm, (2, 5, 8), 0.0)

    torch.manual_seed(5)
    resnet, step = q_resnet18((4, 3, 64, 64))
    save(outdir, manifest, "q_resnet18", resnet, (1, 3, 64, 64), step)

    with open(os.path.join(outdir, "models.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def fx_output_scale(gm):
    """The scale of the quantize that feeds the final dequantize in an FX-converted module."""
    last = None
    for node in gm.graph.nodes:
        if node.op == "call_method" and node.target == "dequantize":
            last = node
    src = last.args[0]
    while src.op == "call_method" or (src.op == "call_function" and src.target in (torch.flatten,)):
        src = src.args[0]
    module = dict(gm.named_modules()).get(src.target) if src.op == "call_module" else None
    if module is not None and hasattr(module, "scale"):
        return float(module.scale)
    raise RuntimeError("cannot find the output scale of %s (%s)" % (type(gm).__name__, src.format_node()))


if __name__ == "__main__":
    main()
