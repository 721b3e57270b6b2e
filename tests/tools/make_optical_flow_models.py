"""Write models that return lists of tensors (issue 23 item 5), with Debian's torch 1.13
and torchvision 0.14, for tests/e2e/returned_lists_test.cpp:

    raft_small.pt      torchvision's RAFT-small (random weights, eval), traced on two
                       1x3x128x128 images: it returns its 12 flow predictions as a list
    flow_list.pt       a small traced module returning a list built by appends (a Conv2d,
                       bilinear upsampling, the pattern of RAFT's predictions)
    runtime_list.pt    a scripted module returning a list whose length the data decides:
                       no fixed set of ONNX outputs (refused in one line)

  make_optical_flow_models.py OUT_DIR    (run with /usr/bin/python3)
"""
import os
import sys
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from out_dir_argument import out_dir_argument


class FlowList(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        flows = []
        flow = self.conv(x)
        for step in range(3):
            flow = flow + torch.tanh(flow) * 0.5
            flows.append(F.interpolate(flow, scale_factor=2.0, mode="bilinear", align_corners=True) * 2)
        return flows


class RuntimeList(nn.Module):
    def forward(self, x):
        out: List[torch.Tensor] = []
        for i in range(int(x.sum().item() > 0) + 2):
            out.append(x * i)
        return out


def main(argv):
    out = out_dir_argument(argv, __doc__)
    from torchvision.models.optical_flow import raft_small

    torch.manual_seed(0)
    with torch.no_grad():
        raft = raft_small(weights=None).eval()
        images = (torch.randn(1, 3, 128, 128), torch.randn(1, 3, 128, 128))
        traced = torch.jit.trace(raft, images, check_trace=False, strict=False)
        traced.save(os.path.join(out, "raft_small.pt"))
        flows = torch.jit.trace(FlowList().eval(), (torch.randn(1, 3, 8, 8),), check_trace=False, strict=False)
        flows.save(os.path.join(out, "flow_list.pt"))
    torch.jit.script(RuntimeList()).save(os.path.join(out, "runtime_list.pt"))
    print("make_optical_flow_models: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
