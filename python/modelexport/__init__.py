"""modelexport's Python front end.

    modelexport.export(module, args, kwargs, output="model.onnx", dynamic_shapes=...)
    modelexport.export_pretrained("org/name" or directory, "model.onnx")

Both end in the modelexport binary; `python -m modelexport.frontend` is what the binary
runs for Hugging Face names and directories. Importing this package loads neither torch
nor transformers.
"""

from ._api import ExportResult, export, export_pretrained, find_binary
from ._errors import ExportError

__all__ = ["ExportError", "ExportResult", "export", "export_pretrained", "find_binary"]
