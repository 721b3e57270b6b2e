"""torch.export side shared by the front end and the API: export, read the program's
symbolic input dims and output names, and save the archive the binary reads.

Imports torch at module level: only imported once an export is under way."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from typing import Any, Callable, Iterable, Mapping

import torch
from torch.export import ExportedProgram

from ._errors import FrontendError

INPUTS_FILE = "modelexport/inputs.json"
PROGRAM_FILE = "modelexport/program.json"

# dtypes the binary's inputs.json reader accepts (parseInputSpecs), by torch dtype.
_DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.bool: "bool",
}


def export(
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    dynamic_shapes: Any,
    log: Callable[[str], None] | None = None,
) -> ExportedProgram:
    """torch.export.export (non-strict), then run_decompositions({}) when the program
    needs it (lowering_needed; `log` is told why, or that it is not).

    run_decompositions lowers the higher-order regions torch.export leaves in the graph
    (vmap and autocast regions of transformers' mask builders and rotary embeddings,
    flat_apply), which torch.export.save cannot serialize and the binary does not read.
    With an empty table no Core ATen decomposition runs: the graph is only
    functionalized (add_ -> add) and the composite ops export does not keep take their
    functional form (batch_norm -> _native_batch_norm_legit_no_training); linear,
    conv2d, layer_norm, scaled_dot_product_attention ... stay as they are. It traces
    the whole program again (0.5-2 s for a tiny transformers model, as long as the
    export itself), so a program it would leave as the binary reads it anyway is kept
    as it is."""
    with warnings.catch_warnings():
        # torch 2.13's own pytree code trips its LeafSpec deprecation on every export.
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
        # Without gradients: a forward decorated with torch.no_grad() (transformers' rotary
        # embeddings) would otherwise become a set_grad_enabled region to lower.
        with torch.no_grad():
            program = torch.export.export(module, tuple(args), dict(kwargs), dynamic_shapes=dynamic_shapes, strict=False)
        reason = lowering_needed(program)
        if log is not None:
            log(f"run_decompositions: {reason}" if reason else "no run_decompositions needed")
        if reason is not None:
            program = program.run_decompositions({})
    _drop_empty_module_stacks(program)
    plain_outputs(program)
    return program


# Calls on Python numbers (dynamic shapes) a program may keep without lowering: the
# binary reads them as they are (not pow: DINOv2's interpolation of its position table
# computes a float power of a size, which only the lowered form gives the binary as it
# needs it).
_SYMBOLIC_CALLS = {
    "_operator.add", "_operator.sub", "_operator.mul", "_operator.floordiv", "_operator.mod",
    "_operator.truediv", "_operator.neg", "_operator.eq", "_operator.ne",
    "_operator.lt", "_operator.le", "_operator.gt", "_operator.ge", "_operator.getitem",
    "torch.sym_max", "torch.sym_min", "torch.sym_not", "torch.sym_float", "torch.sym_int", "math.trunc",
}

# Composite (CompositeImplicitAutograd) operators a program may keep without lowering:
# those run_decompositions({}) keeps as they are, those it only rewrites into another
# form of the same call the binary reads either way (dropout -> clone, reshape -> view,
# to -> _to_copy, chunk -> split, contiguous -> clone), and those the binary's .pt2
# loader reads as TorchScript has them, by schema, with the converters TorchScript
# models use (min.other, flatten, softmax, group_norm, batch_norm, pad,
# adaptive_avg_pool1d, upsample_bilinear2d.vec; numpy_T becomes the permute it is).
# Keeping them spares the test cache's T5, ViT, Swin, DINOv2, SegFormer, CLIP,
# ModernBERT, ELECTRA and wav2vec2 a second trace. Any other composite call is lowered
# first: the binary reads what run_decompositions makes of it.
_KEPT_COMPOSITES = {
    "aten::linear", "aten::matmul", "aten::layer_norm", "aten::scaled_dot_product_attention",
    "aten::conv1d", "aten::conv2d", "aten::__and__", "aten::type_as", "aten::sym_size",
    "aten::dropout", "aten::reshape", "aten::to", "aten::contiguous", "aten::chunk",
    "aten::min", "aten::flatten", "aten::softmax", "aten::group_norm", "aten::batch_norm", "aten::pad",
    "aten::adaptive_avg_pool1d", "aten::upsample_bilinear2d", "aten::numpy_T",
}


def _call_name(target: Any) -> str:
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__name__', '')}"


def _is_composite(op: Any) -> bool:
    return torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "CompositeImplicitAutograd")


def lowering_needed(program: ExportedProgram) -> str | None:
    """Why the program needs run_decompositions({}), or None when what it holds reads
    the same before and after:
    - a call of anything but an operator (torch.ops.*.*) or a symbolic Python operator:
      higher-order operators (autocast, vmap, cond, flat_apply,
      torch._functorch.predispatch.*), which only the decompositions lower;
    - a composite operator outside _KEPT_COMPOSITES;
    - an in-place call (a mutable schema, add_) on an input, a parameter, a buffer or a
      constant, on a view or a tensor a view was taken of, or on a tensor another node
      reads afterwards: the functional graph says what these do without aliasing."""
    graph = program.graph
    order = {node: i for i, node in enumerate(graph.nodes)}
    for node in graph.nodes:
        if node.op == "get_attr":
            return f"get_attr {node.target}"  # a higher-order operator's subgraph
        if node.op != "call_function":
            continue
        target = node.target
        if not isinstance(target, torch._ops.OpOverload):
            if _call_name(target) in _SYMBOLIC_CALLS:
                continue
            return f"call of {target}"
        if _is_composite(target) and target.name().split(".")[0] not in _KEPT_COMPOSITES:
            return f"composite {target}"
        schema = target._schema
        if not schema.is_mutable:
            continue
        for i, argument in enumerate(schema.arguments):
            if argument.alias_info is None or not argument.alias_info.is_write:
                continue
            value = node.args[i] if i < len(node.args) else node.kwargs.get(argument.name)
            if not isinstance(value, torch.fx.Node):
                return f"{target} on {value!r}"
            if value.op != "call_function" or _is_view(value):
                return f"{target} on {value.op} {value.name}"
            for user in value.users:
                if user is not node and (order[user] > order[node] or _is_view(user)):
                    return f"{target} on {value.name}, which {user.name} reads too"
    return None


def _is_view(node: torch.fx.Node) -> bool:
    """A call whose result aliases its arguments (view, slice, expand, transpose, ...)."""
    target = node.target
    if node.op != "call_function" or not isinstance(target, torch._ops.OpOverload):
        return False
    return any(r.alias_info is not None for r in target._schema.returns)


# torch's node-metadata hook (torch/_export/passes/_node_metadata_hook.py) gives a node a
# pass creates from a placeholder (the sym_size of an input's dynamic dim) the stack
# {_EMPTY_KEY: (_EMPTY_KEY, _EMPTY_KEY)}, which a reader of nn_module_stack would take for a
# module of that name under the root. Such nodes belong to no module: drop the entry.
_EMPTY_KEY = "_empty_nn_module_stack_from_metadata_hook"


def _drop_empty_module_stacks(program: ExportedProgram) -> None:
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if stack and _EMPTY_KEY in stack:
            rest = {k: v for k, v in stack.items() if k != _EMPTY_KEY}
            if rest:
                node.meta["nn_module_stack"] = rest
            else:
                del node.meta["nn_module_stack"]


def failure_line(error: BaseException, module: torch.nn.Module | None = None) -> str:
    """One line for a failed torch.export: the error's first line (torch puts the cause
    there; its last lines are generic advice about draft_export and logging), the
    innermost module of `module` whose forward was running when it was raised, and the
    source line torch names."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    if len(text) > 400:
        text = text[:400] + "..."
    where = ""
    # torch names the user code line that raised: "The following call raised this
    # error:\n  File "x.py", line 12, in forward".
    call = re.search(r'raised this error:\s*File "([^"]+)", line (\d+)', str(error))
    at = f" at {os.path.basename(call[1])}:{call[2]}" if call else ""
    if module is not None:
        names = {id(m): name for name, m in module.named_modules()}
        for frame, _ in reversed(list(traceback.walk_tb(error.__traceback__))):
            owner = frame.f_locals.get("self")
            if isinstance(owner, torch.nn.Module) and id(owner) in names:
                path = names[id(owner)] or "(root)"
                where = f" (in module {path}, {type(owner).__name__})"
                break
    return f"torch.export failed: {type(error).__name__}: {text}{where or ''}{at}"


def user_inputs(program: ExportedProgram) -> list[tuple[str, Any]]:
    """(name, example value) of each user input, in the program's order."""
    vals = {n.name: n.meta.get("val") for n in program.graph.nodes if n.op == "placeholder"}
    return [(name, vals.get(name)) for name in program.graph_signature.user_inputs]


def refused_sizes(program: ExportedProgram, inputs: Mapping[str, Any]) -> list[str]:
    """The sizes of `inputs` (by name) the program's input dims do not take: a static
    dim of another size, or a symbolic one outside its range ("input_ids dim 0: 1 not in
    [2, inf]")."""
    refused = []
    for name, val in user_inputs(program):
        value = inputs.get(name)
        if not isinstance(val, torch.Tensor) or not isinstance(value, torch.Tensor) or value.dim() != val.dim():
            continue
        for d, size in enumerate(val.shape):
            got = int(value.shape[d])
            if isinstance(size, torch.SymInt) and not size.node.expr.is_number:
                vr = program.range_constraints.get(size.node.expr)
                if vr is not None and not (_bound(vr.lower, got) <= got <= _bound(vr.upper, got)):
                    refused.append(f"{name} dim {d}: {got} not in [{vr.lower}, {vr.upper}]")
            elif int(size) != got:
                refused.append(f"{name} dim {d}: {got}, not {int(size)}")
    return refused


def _bound(bound: Any, default: int) -> int:
    """A range's bound as an int; `default` for an infinite one (int_oo)."""
    from torch.utils._sympy.numbers import int_oo

    return default if bound in (int_oo, -int_oo) else int(bound)


def symbolic_dims(program: ExportedProgram) -> dict[str, dict[int, str]]:
    """For each user input, which dims stayed symbolic and their symbol ("s0"); the same
    symbol in two inputs is one dim."""
    dims: dict[str, dict[int, str]] = {}
    for name, val in user_inputs(program):
        if not isinstance(val, torch.Tensor):
            continue
        for d, size in enumerate(val.shape):
            # A SymInt whose expression is a number was specialised: it is static.
            if isinstance(size, torch.SymInt) and not size.node.expr.is_number:
                dims.setdefault(name, {})[d] = str(size.node.expr)
    return dims


def name_dims(
    dims: Mapping[str, Mapping[int, str]],
    name_of: Callable[[str, int], str | None],
) -> dict[str, dict[str, str]]:
    """dynamic_axes {input: {"dim": name}}: each symbol named once, by name_of(input, dim)
    at its first occurrence; a name already given to another symbol, or no name, falls
    back to <input>_dim<d> (two different symbols must never share a name)."""
    by_symbol: dict[str, str] = {}
    taken: set[str] = set()
    axes: dict[str, dict[str, str]] = {}
    for inp, per_dim in dims.items():
        for d, symbol in per_dim.items():
            if symbol not in by_symbol:
                name = name_of(inp, d)
                if not name or name in taken:
                    name = f"{inp}_dim{d}"
                by_symbol[symbol] = name
                taken.add(name)
            axes.setdefault(inp, {})[str(d)] = by_symbol[symbol]
    return axes


def _children(spec: Any) -> list[Any]:
    return list(spec.children() if callable(getattr(spec, "children", None)) else spec.children_specs)


def _leaf_names(spec: Any, prefix: str) -> Iterable[str]:
    if spec.is_leaf():
        yield prefix
        return
    children = _children(spec)
    context = spec.context
    # dict, OrderedDict and ModelOutput keep their keys as the context; a namedtuple
    # keeps its class; lists and tuples have none.
    if isinstance(context, (list, tuple)) and len(context) == len(children) and all(isinstance(k, str) for k in context):
        keys = list(context)
    elif isinstance(context, type) and hasattr(context, "_fields"):
        keys = list(context._fields)
    else:
        keys = [str(i) for i in range(len(children))]
    for key, child in zip(keys, children):
        yield from _leaf_names(child, f"{prefix}.{key}" if prefix else key)


def plain_outputs(program: ExportedProgram) -> None:
    """Make the program's output tree of dicts where it has transformers ModelOutputs
    (same keys, same order). A saved ModelOutput type can only be loaded again where its
    transformers module is imported and registered; a dict loads anywhere (the binary
    reads only the keys)."""
    from torch.utils._pytree import TreeSpec

    def plain(spec: Any) -> Any:
        if spec.is_leaf():
            return spec
        children = [plain(c) for c in _children(spec)]
        keyed = isinstance(spec.context, list) and all(isinstance(k, str) for k in spec.context)
        if keyed and any(c.__name__ == "ModelOutput" for c in getattr(spec.type, "__mro__", ())):
            return TreeSpec(dict, list(spec.context), children)
        return TreeSpec(spec.type, spec.context, children)

    signature = program.module_call_graph[0].signature
    if signature.out_spec is not None:
        signature.out_spec = plain(signature.out_spec)


def output_names(program: ExportedProgram) -> list[str]:
    """Names of the program's outputs from its output tree: the keys of a dict or
    ModelOutput (last_hidden_state, logits, ...), key.i inside nested tuples; a tuple,
    list or single tensor gives output_0, output_1, ..."""
    spec = program.call_spec.out_spec
    if spec is None:
        return []
    top = spec.context
    keyed = isinstance(top, (list, tuple)) and top and all(isinstance(k, str) for k in top)
    if keyed or (isinstance(top, type) and hasattr(top, "_fields")):
        names = list(_leaf_names(spec, ""))
    else:
        names = [f"output_{i}" for i in range(spec.num_leaves)]
    # A leaf that is no tensor (None, a constant) has no ONNX output: keep the names of
    # the tensor outputs only.
    sig = torch.export.graph_signature
    user = [s for s in program.graph_signature.output_specs if s.kind == sig.OutputKind.USER_OUTPUT]
    return [name for name, out in zip(names, user) if isinstance(out.arg, sig.TensorArgument)]


def module_root(program: ExportedProgram) -> str | None:
    """Class name of the root frame of nn_module_stack (what the binary's tree starts
    from), taken from the first node that has one."""
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if not stack:
            continue
        for path, cls in stack.values():
            if path == "":
                return str(cls).rsplit(".", 1)[-1]
    return None


def input_records(inputs: Iterable[tuple[str, torch.Tensor]]) -> list[dict[str, Any]]:
    """inputs.json entries: name, dtype, shape and the flat row-major values."""
    records = []
    for name, value in inputs:
        t = value.detach().cpu()
        if t.dtype not in _DTYPE_NAMES:
            t = t.to(torch.float32 if t.is_floating_point() else torch.int64)
        records.append(
            {"name": name, "dtype": _DTYPE_NAMES[t.dtype], "shape": list(t.shape), "values": t.reshape(-1).tolist()}
        )
    return records


class _ProgramLast(dict):  # type: ignore[type-arg]
    """extra_files for torch.export.save whose program.json is made when the save
    reaches it: torch writes the program and its weights before the extra files, so the
    save's own time (timings.save) is known by then."""

    def __init__(self, inputs: str, info: dict[str, Any], started: float) -> None:
        super().__init__({INPUTS_FILE: inputs, PROGRAM_FILE: ""})
        self._info, self._started = info, started

    def items(self):  # type: ignore[override]
        self._info.setdefault("timings", {})["save"] = time.perf_counter() - self._started
        return {INPUTS_FILE: self[INPUTS_FILE], PROGRAM_FILE: json.dumps(self._info, indent=1)}.items()


def save(program: ExportedProgram, output: str, inputs: list[dict[str, Any]], info: dict[str, Any]) -> None:
    """torch.export.save with extra/modelexport/inputs.json and program.json, written to a
    temporary file next to `output` and renamed over it, so a reader never sees half an
    archive. Sets info["timings"]["save"]."""
    started = time.perf_counter()
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise FrontendError(f"cannot write {output}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".modelexport-", suffix=".pt2", dir=directory)
    os.close(fd)
    try:
        torch.export.save(program, tmp, extra_files=_ProgramLast(json.dumps({"inputs": inputs}), info, started))
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def versions() -> dict[str, str]:
    found = {"torch": torch.__version__, "python": sys.version.split()[0]}
    try:
        import transformers

        found["transformers"] = transformers.__version__
    except ImportError:
        pass
    return found
