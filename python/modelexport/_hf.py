"""Hugging Face side of the front end: find the model (cache or directory), pick its
class, load it for export, and make example inputs with its own preprocessors.

Imported only after the front end has checked that torch and transformers import."""

from __future__ import annotations

import contextlib
import inspect
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
import transformers
from transformers import AutoConfig, PretrainedConfig

from ._errors import FrontendError

# Pipeline task -> Auto classes to try, in order (the first whose mapping knows the
# config's type wins). Only classes this transformers has are used.
TASKS: dict[str, tuple[str, ...]] = {
    "feature-extraction": ("AutoModel",),
    "text-generation": ("AutoModelForCausalLM",),
    "fill-mask": ("AutoModelForMaskedLM",),
    "text-classification": ("AutoModelForSequenceClassification",),
    "token-classification": ("AutoModelForTokenClassification",),
    "question-answering": ("AutoModelForQuestionAnswering",),
    "text2text-generation": ("AutoModelForSeq2SeqLM",),
    "next-sentence-prediction": ("AutoModelForNextSentencePrediction",),
    "image-classification": ("AutoModelForImageClassification",),
    "image-feature-extraction": ("AutoModel",),
    "image-segmentation": ("AutoModelForImageSegmentation", "AutoModelForSemanticSegmentation"),
    "semantic-segmentation": ("AutoModelForSemanticSegmentation",),
    "object-detection": ("AutoModelForObjectDetection",),
    "depth-estimation": ("AutoModelForDepthEstimation",),
    "masked-im": ("AutoModelForMaskedImageModeling",),
    "zero-shot-image-classification": ("AutoModelForZeroShotImageClassification",),
    "automatic-speech-recognition": ("AutoModelForSpeechSeq2Seq", "AutoModelForCTC"),
    "audio-classification": ("AutoModelForAudioClassification",),
    "audio-frame-classification": ("AutoModelForAudioFrameClassification",),
    "audio-xvector": ("AutoModelForAudioXVector",),
}

# Inputs whose dim 1 is the text sequence (also an audio attention mask's samples).
_SEQUENCE_INPUTS = {"input_ids", "attention_mask", "token_type_ids", "position_ids", "bbox", "input_values"}


@dataclass
class Source:
    """Where the model comes from and which class loads it."""

    name: str  # as the user gave it
    ref: str  # what from_pretrained gets: the repo id, or the directory's absolute path
    resolved: str  # absolute directory holding config.json (a snapshot for a repo id)
    config: PretrainedConfig
    cls: type
    task: str | None


@dataclass
class Example:
    """Example inputs at the user's batch, in forward's argument order."""

    inputs: dict[str, torch.Tensor]
    described: list[str] = field(default_factory=list)


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _looks_like_path(name: str) -> bool:
    """A repo id is NAME or ORG/NAME; anything else names a directory."""
    return name.startswith(("/", "./", "../", "~")) or name.endswith("/") or name.count("/") > 1


def resolve(name: str, task: str | None) -> Source:
    """Config, snapshot directory and model class of NAME_OR_DIR."""
    local = os.path.isdir(os.path.expanduser(name))
    if not local and _looks_like_path(name):
        raise FrontendError(f"{name}: no such directory (give a save_pretrained directory or a Hugging Face repo id)")
    if local and not os.path.isfile(os.path.join(os.path.expanduser(name), "config.json")):
        raise FrontendError(f"{name}: the directory has no config.json (save the model with save_pretrained)")
    if not local and _offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            raise FrontendError(
                f"{name} is not in the Hugging Face cache ({_cache_dir()}) and HF_HUB_OFFLINE=1 forbids downloading it; "
                f"download it first (hf download {name}), unset HF_HUB_OFFLINE, or set HF_HOME/HF_HUB_CACHE to the cache that has it"
            )
    ref = os.path.abspath(os.path.expanduser(name)) if local else name
    try:
        config = AutoConfig.from_pretrained(ref)
    except ValueError as e:  # an unknown model_type, mostly
        kind = _read_model_type(name, ref, local)
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        if kind is not None and kind not in CONFIG_MAPPING:
            raise FrontendError(
                f"{name}: transformers {transformers.__version__} does not know model type {kind!r}; "
                f"upgrade transformers (pip install -U transformers)"
            ) from e
        raise FrontendError(f"{name}: cannot load its config: {_first_line(e)}") from e
    except OSError as e:
        raise FrontendError(f"{name}: cannot load its config: {_first_line(e)}") from e

    if local:
        resolved = ref
    else:
        from transformers.utils import cached_file

        resolved = os.path.dirname(os.path.abspath(cached_file(name, "config.json")))

    cls, task = _pick_class(name, config, task)
    return Source(name=name, ref=ref, resolved=resolved, config=config, cls=cls, task=task)


def _read_model_type(name: str, ref: str, local: bool) -> str | None:
    """config.json's model_type, read as plain JSON."""
    import json

    if local:
        path: Any = os.path.join(ref, "config.json")
    else:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(name, "config.json")
    try:
        with open(path) as f:
            kind = json.load(f).get("model_type")
    except (OSError, TypeError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _auto_class_for(auto_name: str, config: PretrainedConfig) -> type | None:
    auto = getattr(transformers, auto_name, None)
    if auto is None:
        return None
    try:
        found = auto._model_mapping[type(config)]
    except KeyError:
        return None
    return found[0] if isinstance(found, (list, tuple)) else found


def _pick_class(name: str, config: PretrainedConfig, task: str | None) -> tuple[type, str | None]:
    if task is not None:
        if task not in TASKS:
            raise FrontendError(f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")
        for auto_name in TASKS[task]:
            cls = _auto_class_for(auto_name, config)
            if cls is not None:
                return cls, task
        raise FrontendError(
            f"{name}: transformers {transformers.__version__} has no {'/'.join(TASKS[task])} class for model type "
            f"{config.model_type!r} (task {task}); choose another --task or leave it out to use config.architectures"
        )
    architectures = list(getattr(config, "architectures", None) or [])
    if not architectures:
        cls = _auto_class_for("AutoModel", config)
        if cls is None:
            raise FrontendError(f"{name}: config.json names no architectures and AutoModel knows no {type(config).__name__}; give --task")
        return cls, _task_of(cls, config)
    arch = architectures[0]
    cls = getattr(transformers, arch, None)
    if not isinstance(cls, type):
        custom = " (the model brings its own code, auto_map; that is not supported)" if getattr(config, "auto_map", None) else ""
        raise FrontendError(
            f"{name}: architecture {arch} is not in transformers {transformers.__version__}{custom}; "
            f"upgrade transformers or give --task to load it through an Auto class"
        )
    return cls, _task_of(cls, config)


def _task_of(cls: type, config: PretrainedConfig) -> str | None:
    """The first task whose Auto class maps this config to `cls` (for the record only)."""
    for task, autos in TASKS.items():
        if task == "feature-extraction" and getattr(cls, "main_input_name", "") == "pixel_values":
            continue  # a vision backbone: image-feature-extraction below
        if any(_auto_class_for(a, config) is cls for a in autos):
            return task
    return None


def load(source: Source) -> torch.nn.Module:
    """The model in eval mode, without a KV cache, returning ModelOutput."""
    config = source.config
    for c in {id(config): config, id(config.get_text_config()): config.get_text_config()}.values():
        if hasattr(c, "use_cache"):
            c.use_cache = False  # no past_key_values in the outputs or the graph
    config.return_dict = True
    attn = "sdpa" if getattr(source.cls, "_supports_sdpa", False) else "eager"
    try:
        model = source.cls.from_pretrained(source.ref, config=config, attn_implementation=attn)
    except (OSError, ValueError, ImportError) as e:  # weights missing (offline), a backend missing, ...
        raise FrontendError(f"{source.name}: cannot load {source.cls.__name__}: {_first_line(e)}") from e
    _fold_parametrizations(model)
    return model.eval()


def _fold_parametrizations(model: torch.nn.Module) -> None:
    """Replace parametrized weights (weight_norm in Wav2Vec2's positional convolution,
    ...) by their value: the same numbers, computed once here instead of in the graph
    (as aten::_weight_norm, which ONNX has no op for), and the module keeps its own
    class (Conv1d rather than ParametrizedConv1d)."""
    from torch.nn.utils import parametrize

    for module in list(model.modules()):
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations.keys()):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)


def forward_params(model: torch.nn.Module) -> list[str]:
    return [
        p.name
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _shape_dims(shape: list[int] | None) -> tuple[int, int | None]:
    """Batch and last dim of --input-shape."""
    if not shape:
        return 1, None
    return shape[0], (shape[-1] if len(shape) >= 2 else None)


def _text(source: Source, text: str, shape: list[int] | None, params: list[str], out: Example) -> list[int]:
    from transformers import AutoTokenizer

    batch, length = _shape_dims(shape)
    try:
        tok = AutoTokenizer.from_pretrained(source.ref)
    except (OSError, ValueError, ImportError, TypeError) as e:
        raise FrontendError(f"{source.name}: cannot load its tokenizer ({_first_line(e)}); the model takes input_ids") from e
    call: dict[str, Any] = {"return_tensors": "pt"}
    if length is not None:
        if tok.pad_token is None:  # GPT-2 and friends: pad with eos, else with id 0
            tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.convert_ids_to_tokens(0)
        call.update(padding="max_length", truncation=True, max_length=length)
    enc = tok([text] * batch, **call)
    for k, v in enc.items():
        if k in params and isinstance(v, torch.Tensor):
            out.inputs.setdefault(k, v)
    n = int(enc["attention_mask"][0].sum()) if "attention_mask" in enc else enc["input_ids"].shape[1]
    out.described.append(f"tokenizer {type(tok).__name__} on {text!r} ({n} tokens)")
    return tok(text, add_special_tokens=False)["input_ids"]


def _image_size(settings: dict[str, Any], config: PretrainedConfig) -> tuple[int, int]:
    """(height, width) the processor's output has: crop size, else resize size."""
    size = settings.get("crop_size") if settings.get("do_center_crop") else None
    size = size or settings.get("size")
    if isinstance(size, int):
        return size, size
    if isinstance(size, dict):
        if "height" in size and "width" in size:
            return int(size["height"]), int(size["width"])
        edge = size.get("shortest_edge") or size.get("longest_edge")
        if edge:
            return int(edge), int(edge)
    vision = getattr(config, "vision_config", None) or config
    side = getattr(vision, "image_size", 224)
    return (side, side) if isinstance(side, int) else (int(side[0]), int(side[1]))


def _gradient(height: int, width: int) -> np.ndarray:
    """A deterministic RGB image: red across, green down, blue along the diagonal."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = x / max(width - 1, 1)
    g = y / max(height - 1, 1)
    b = (x + y) / max(width + height - 2, 1)
    return (np.stack([r, g, b], axis=-1) * 255).round().astype(np.uint8)


def _vision(source: Source, shape: list[int] | None, params: list[str], out: Example) -> None:
    from transformers import AutoImageProcessor
    from transformers.image_processing_base import ImageProcessingMixin

    batch = shape[0] if shape else 1
    chosen = (shape[2], shape[3]) if shape and len(shape) == 4 else None
    proc = None
    try:
        proc = AutoImageProcessor.from_pretrained(source.ref)
        settings = proc.to_dict()
    except ImportError:
        # The processor needs a backend missing here (Pillow, torchvision). Its settings
        # still load; the image is made at the processor's output size, so resizing and
        # cropping would not change it and rescaling + normalizing below is what the
        # processor would do.
        settings, _ = ImageProcessingMixin.get_image_processor_dict(source.ref)
    except (OSError, ValueError):
        settings = {}  # no preprocessor_config.json: the config's image size, pixels in [0, 1]
    height, width = chosen or _image_size(settings, source.config)
    image = _gradient(height, width)
    if proc is not None:
        overrides = {k: False for k in ("do_resize", "do_center_crop") if chosen and k in settings}
        enc = proc(images=[image] * batch, return_tensors="pt", **overrides)
        how = f"image processor {type(proc).__name__}"
    else:
        pixels = image.astype(np.float32)
        if settings.get("do_rescale", True):
            pixels = pixels * float(settings.get("rescale_factor", 1 / 255))
        if settings.get("do_normalize") and settings.get("image_mean") is not None:
            pixels = (pixels - np.array(settings["image_mean"], np.float32)) / np.array(settings["image_std"], np.float32)
        vision = getattr(source.config, "vision_config", None) or source.config
        channels = int(getattr(vision, "num_channels", 3))
        pixels = np.resize(pixels.transpose(2, 0, 1), (channels, height, width))  # 1 channel: the red one
        enc = {"pixel_values": torch.from_numpy(pixels).unsqueeze(0).repeat(batch, 1, 1, 1)}
        kind = settings.get("image_processor_type")
        how = f"the settings of {kind} (processor unavailable here)" if kind else "no image processor (pixels in [0, 1])"
    for k, v in enc.items():
        if k in params and isinstance(v, torch.Tensor):
            out.inputs.setdefault(k, v)
    out.described.append(f"{how} on a {height}x{width} synthetic gradient image")


def _audio(source: Source, shape: list[int] | None, params: list[str], out: Example) -> None:
    from transformers import AutoFeatureExtractor

    batch, samples = _shape_dims(shape)
    try:
        fe = AutoFeatureExtractor.from_pretrained(source.ref)
    except (OSError, ValueError, ImportError) as e:
        raise FrontendError(f"{source.name}: cannot load its feature extractor ({_first_line(e)})") from e
    rate = int(getattr(fe, "sampling_rate", 16000))
    n = samples or rate  # one second
    t = np.arange(n, dtype=np.float32) / rate
    wave = (0.5 * np.sin(2 * math.pi * 440.0 * t)).astype(np.float32)
    enc = fe([wave] * batch, sampling_rate=rate, return_tensors="pt")
    for k, v in enc.items():
        if k in params and isinstance(v, torch.Tensor):
            out.inputs.setdefault(k, v)
    out.described.append(f"feature extractor {type(fe).__name__} on a {n / rate:g} s 440 Hz sine at {rate} Hz")


def _decoder_text(source: Source, text: str | None) -> list[int]:
    """Tokens of the text for a decoder whose encoder takes no text (Whisper); none
    without a tokenizer unless --input-text asked for them."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(source.ref)
    except (OSError, ValueError, ImportError, TypeError) as e:
        if text is not None:
            raise FrontendError(f"{source.name}: --input-text given but its tokenizer does not load ({_first_line(e)})") from e
        return []
    return list(tok(text if text is not None else "Hello world", add_special_tokens=False)["input_ids"])


def _decoder_ids(config: PretrainedConfig, text_ids: list[int], batch: int) -> torch.Tensor:
    """The decoder start token, then the text's first tokens (start tokens without text)."""
    gen = getattr(config, "decoder_start_token_id", None)
    start = gen if gen is not None else (config.pad_token_id if config.pad_token_id is not None else 0)
    ids = [start] + list(text_ids[:3])
    ids += [start] * (4 - len(ids))
    return torch.tensor([ids] * batch, dtype=torch.long)


def example_inputs(
    source: Source, model: torch.nn.Module, text: str | None, shape: list[int] | None
) -> Example:
    params = forward_params(model)
    out = Example(inputs={})
    text_ids: list[int] = []
    seq2seq = "decoder_input_ids" in params and getattr(source.config, "is_encoder_decoder", False)
    if "input_ids" in params:
        text_ids = _text(source, text if text is not None else "Hello world", shape, params, out)
    elif seq2seq:  # speech-to-text: the text, if any, is the decoder's
        text_ids = _decoder_text(source, text)
    elif text is not None:
        raise FrontendError(f"--input-text given but {source.cls.__name__}.forward takes no input_ids")
    if "pixel_values" in params:
        _vision(source, shape, params, out)
    if "input_values" in params or "input_features" in params:
        _audio(source, shape, params, out)
    if seq2seq:
        batch = shape[0] if shape else 1
        out.inputs["decoder_input_ids"] = _decoder_ids(source.config, text_ids, batch)
        out.described.append("decoder_input_ids: start token + 3")
    if not out.inputs:
        raise FrontendError(
            f"cannot make example inputs for {source.cls.__name__}: its forward takes "
            f"({', '.join(params)}) and none of input_ids, pixel_values, input_values, input_features"
        )
    out.inputs = {k: out.inputs[k] for k in params if k in out.inputs}
    return out


def dim_roles(name: str, ndim: int, names: Iterable[str] = ()) -> dict[int, str]:
    """Which dims of an input transformers treats as variable, with the names optimum
    gives them. `names`: all the inputs; with both text and images (CLIP) the two
    batches are separate dims, text_batch_size and image_batch_size."""
    image = name in ("pixel_values", "pixel_mask")
    both = {"input_ids", "pixel_values"} <= set(names)
    roles = {0: ("image_batch_size" if image else "text_batch_size") if both else "batch_size"}
    if name.startswith("decoder_") and ndim >= 2:
        roles[1] = "decoder_sequence_length"
    elif name in _SEQUENCE_INPUTS and ndim >= 2:
        roles[1] = "sequence_length"
    elif name == "pixel_values" and ndim == 4:
        roles.update({2: "height", 3: "width"})
    elif name == "pixel_mask" and ndim == 3:
        roles.update({1: "height", 2: "width"})
    elif name == "input_features" and ndim == 3:
        roles[2] = "encoder_sequence_length"
    return roles


# Roles given one shared named Dim in the first attempt (their sizes must be equal across
# inputs: a text model's ids and mask); the others get Dim.AUTO. When a model ties two of
# them (an image batch to the text batch), torch.export's suggested fix makes them one.
_BATCH_ROLES = {"batch_size", "text_batch_size", "image_batch_size"}
_SHARED_ROLES = _BATCH_ROLES | {"sequence_length", "decoder_sequence_length"}

# Config fields that give the longest text a model takes, per role, first found wins
# (the text config's; the decoder's for decoder_sequence_length). A model with a learned
# position table guards the sequence to its size, and torch.export refuses a Dim that
# does not say so ("Constraints violated (sequence_length)"): bounding the Dims up front
# saves that failed attempt.
_MAX_LENGTH_FIELDS = {
    "sequence_length": ("max_position_embeddings", "n_positions", "max_sequence_length", "n_ctx", "seq_length"),
    "decoder_sequence_length": ("max_target_positions", "max_position_embeddings", "n_positions"),
}


def max_lengths(config: PretrainedConfig | None, inputs: Iterable[str] = ()) -> dict[str, int]:
    """{role: longest size} for the text roles, from the config. Audio samples share the
    sequence_length role but are not tokens: no bound when input_values is an input."""
    if config is None:
        return {}
    found: dict[str, int] = {}
    for role, fields in _MAX_LENGTH_FIELDS.items():
        if role == "sequence_length" and "input_values" in inputs:
            continue
        try:
            sub = config.get_text_config(decoder=True) if role.startswith("decoder_") else config.get_text_config()
        except (AttributeError, TypeError, ValueError):
            sub = config
        for c in (sub, config):
            value = next((getattr(c, f, None) for f in fields if isinstance(getattr(c, f, None), int)), None)
            if value is not None and value > 0:
                found[role] = value
                break
    return found


# An image's height and width stay static: the model's image processor resizes (or crops)
# every image to one size, and symbolic sizes through window partitions and padding made
# torch.export take minutes (Swin: 7.5 min, against seconds with them fixed).
_FIXED_ROLES = {"height", "width"}


def dynamic_shapes(
    inputs: dict[str, torch.Tensor], named: bool, config: PretrainedConfig | None = None, batch_only: bool = False
) -> dict[str, dict[int, Any]]:
    """dynamic_shapes for torch.export: named, shared Dims for batch and sequences
    (named=True) so the ids and the mask keep one symbol, the sequences bounded by the
    config's longest text (max_lengths) when the example fits in it; Dim.AUTO elsewhere.
    batch_only=True names the batches only; named=False gives Dim.AUTO everywhere and
    torch.export decides. A named Dim's range starts at 0 (torch.export assumes >= 2
    while tracing but keeps what the user gave, so a batch of 1 stays allowed where the
    model allows it); a Dim.AUTO dim's range starts at 2. A dim of size 0 or 1 stays
    static (torch.export would specialise it anyway), and so do an image's height and
    width (_FIXED_ROLES)."""
    from torch.export import Dim

    roles = (_BATCH_ROLES if batch_only else _SHARED_ROLES) if named else set()
    bounds = max_lengths(config, inputs)
    shared: dict[str, Any] = {}
    spec: dict[str, dict[int, Any]] = {}
    for name, value in inputs.items():
        spec[name] = {}
        for d, role in dim_roles(name, value.dim(), inputs).items():
            if value.shape[d] < 2 or role in _FIXED_ROLES:
                continue
            if role in roles:
                if role not in shared:
                    limit = bounds.get(role)
                    fits = limit is not None and limit >= max(_sizes(inputs, role))
                    shared[role] = Dim(role, max=limit) if fits else Dim(role)
                spec[name][d] = shared[role]
            else:
                spec[name][d] = Dim.AUTO
    return spec


def _sizes(inputs: dict[str, torch.Tensor], role: str) -> list[int]:
    """The inputs' sizes at the dims that have `role`."""
    return [
        int(value.shape[d]) for name, value in inputs.items()
        for d, r in dim_roles(name, value.dim(), inputs).items() if r == role
    ]


# ---------------------------------------------------------------------------------------
# What today's transformers (4.5x masking_utils) needs to export to a graph the binary can
# convert. The one place that patches transformers, for the duration of the export only.
# ---------------------------------------------------------------------------------------


def _broadcast_sdpa_mask(
    batch_size: int,
    cache_position: torch.Tensor,
    kv_length: int,
    kv_offset: int = 0,
    mask_function: Callable[..., torch.Tensor] | None = None,
    attention_mask: torch.Tensor | None = None,
    local_size: int | None = None,
    allow_is_causal_skip: bool = True,
    **kwargs: Any,
) -> torch.Tensor | None:
    """masking_utils.sdpa_mask without torch.vmap: the mask function is called once on
    index tensors shaped to broadcast to [batch, 1, query, kv] (the causal and sliding
    window functions are comparisons of indices), and the 2D padding mask is and-ed in
    as a slice. transformers' version vmaps the function over scalar indices, which
    exports as vmap regions and, for the padding mask, an aten::index whose indices
    have the dynamic sizes; this gives the same boolean mask from comparisons, an
    expand and a slice."""
    from transformers import masking_utils as mu

    q_length = cache_position.shape[0]
    padding = mu.prepare_padding_mask(attention_mask, kv_length, kv_offset, _slice=False)
    if allow_is_causal_skip and mu._ignore_causal_mask_sdpa(padding, q_length, kv_length, kv_offset, local_size):
        return None  # never while exporting (transformers checks for that), kept for eager calls
    device = cache_position.device
    kv = (torch.arange(kv_length, device=device) + kv_offset).view(1, 1, 1, -1)
    b = torch.arange(batch_size, device=device).view(-1, 1, 1, 1)
    h = torch.zeros(1, 1, 1, 1, dtype=torch.long, device=device)
    function = mask_function or mu.causal_mask_function
    mask = function(b, h, cache_position.view(1, 1, -1, 1), kv).expand(batch_size, 1, q_length, kv_length)
    if padding is not None:
        mask = mask & padding[:, None, None, kv_offset : kv_offset + kv_length].to(torch.bool)
    return mask


def _autocast_patch() -> Callable[..., Any]:
    """torch.autocast that is a no-op where it would change nothing: transformers'
    rotary embeddings (and a few other modules) compute in float32 inside
    `with torch.autocast(device_type=..., enabled=False)`, which torch.export records
    as an autocast region (a higher-order operator that only run_decompositions
    lowers). Turning autocast off where it is not on does nothing: a null context."""
    real = torch.autocast

    def autocast(device_type: str, dtype: Any = None, enabled: bool = True, cache_enabled: Any = None) -> Any:
        if not enabled and not torch.is_autocast_enabled(device_type):
            return contextlib.nullcontext()
        return real(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    return autocast


@contextlib.contextmanager
def export_patches() -> Iterator[None]:
    """While exporting:
    - the sdpa mask builder (also used by the eager one) is _broadcast_sdpa_mask;
    - packed-sequence detection is off: without an attention mask, create_causal_mask
      looks for packed sequences in position_ids (torch.diff + cumsum, then an index of
      the result in the mask function); the front end passes no position_ids, so the
      positions are an arange and never packed;
    - torch.autocast(enabled=False) where autocast is off is a null context
      (_autocast_patch), so the program holds no autocast region to lower.
    All are restored afterwards. Without transformers' masking_utils (older versions)
    only torch.autocast is patched."""
    real_autocast = torch.autocast
    torch.autocast = _autocast_patch()  # type: ignore[assignment,misc]
    try:
        try:
            from transformers import masking_utils as mu
        except ImportError:
            yield
            return
        mapping = mu.ALL_MASK_ATTENTION_FUNCTIONS._global_mapping
        saved = (mu.sdpa_mask, mapping.get("sdpa"), mu.find_packed_sequence_indices)
        mu.sdpa_mask = _broadcast_sdpa_mask
        mapping["sdpa"] = _broadcast_sdpa_mask
        mu.find_packed_sequence_indices = lambda position_ids: None
        try:
            yield
        finally:
            mu.sdpa_mask, mapping["sdpa"], mu.find_packed_sequence_indices = saved
    finally:
        torch.autocast = real_autocast  # type: ignore[misc]
