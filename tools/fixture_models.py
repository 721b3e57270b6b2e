"""Eager PyTorch models behind the test fixtures of modelexport.

This module holds the model classes and builder functions; ``make_fixtures.py``
traces/scripts them into TorchScript files, and other scripts (the torch.onnx
reference exporter, benchmarks) import it to rebuild the same eager models and
load the weights of a fixture into them.

BERT and GPT-2 are written from scratch here. They mirror the module classes,
attribute names and forward semantics of Hugging Face transformers' BertModel and
GPT2Model (so that the module hierarchy of the exports looks like the real thing),
but they contain no code from that project and need no download.

Every fixture is described by a ``FixtureSpec``: how to build the eager model,
which example inputs to trace with, and what the manifest says about it.
``standard_specs()`` are the fixtures the tests use (built by default);
``extra_specs()`` are bigger opt-in ones for tools/bench.sh.
"""

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn


# ---------------------------------------------------------------------------
# Shared activations


class GELUActivation(nn.Module):
    """GELU (erf form) through torch.nn.functional.gelu, as transformers names it."""

    def __init__(self):
        super().__init__()
        self.act = nn.functional.gelu

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.act(input)


class NewGELUActivation(nn.Module):
    """GELU, tanh approximation written out with elementwise ops (GPT-2's "gelu_new")."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))
        return 0.5 * input * (1.0 + torch.tanh(inner))


# ---------------------------------------------------------------------------
# BERT


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 512
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02
    pad_token_id: int = 0


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(
            config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # Non-persistent in transformers; a TorchScript file still stores it, and
        # load_fixture_weights() accepts it either way.
        self.register_buffer(
            "position_ids",
            torch.arange(config.max_position_embeddings).expand((1, -1)),
            persistent=False)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, 0:seq_length]
        inputs_embeds = self.word_embeddings(input_ids)
        token_type_embeddings = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + token_type_embeddings
        position_embeddings = self.position_embeddings(position_ids)
        embeddings = embeddings + position_embeddings
        embeddings = self.LayerNorm(embeddings)
        embeddings = self.dropout(embeddings)
        return embeddings


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def transpose_for_scores(self, x: torch.Tensor) -> torch.Tensor:
        new_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        x = x.view(new_shape)
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states: torch.Tensor,
                attention_mask: torch.Tensor) -> Tuple[torch.Tensor]:
        mixed_query_layer = self.query(hidden_states)
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        query_layer = self.transpose_for_scores(mixed_query_layer)

        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        attention_scores = attention_scores + attention_mask
        attention_probs = nn.functional.softmax(attention_scores, dim=-1)
        attention_probs = self.dropout(attention_probs)

        context_layer = torch.matmul(attention_probs, value_layer)
        context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
        new_shape = context_layer.size()[:-2] + (self.all_head_size,)
        context_layer = context_layer.view(new_shape)
        return (context_layer,)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        hidden_states = self.dense(hidden_states)
        hidden_states = self.dropout(hidden_states)
        hidden_states = self.LayerNorm(hidden_states + input_tensor)
        return hidden_states


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: torch.Tensor,
                attention_mask: torch.Tensor) -> Tuple[torch.Tensor]:
        self_outputs = self.self(hidden_states, attention_mask)
        attention_output = self.output(self_outputs[0], hidden_states)
        return (attention_output,) + self_outputs[1:]


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = GELUActivation()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.dense(hidden_states)
        hidden_states = self.intermediate_act_fn(hidden_states)
        return hidden_states


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        hidden_states = self.dense(hidden_states)
        hidden_states = self.dropout(hidden_states)
        hidden_states = self.LayerNorm(hidden_states + input_tensor)
        return hidden_states


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def feed_forward_chunk(self, attention_output: torch.Tensor) -> torch.Tensor:
        intermediate_output = self.intermediate(attention_output)
        return self.output(intermediate_output, attention_output)

    def forward(self, hidden_states: torch.Tensor,
                attention_mask: torch.Tensor) -> Tuple[torch.Tensor]:
        attention_outputs = self.attention(hidden_states, attention_mask)
        attention_output = attention_outputs[0]
        layer_output = self.feed_forward_chunk(attention_output)
        return (layer_output,) + attention_outputs[1:]


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(
            [BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states, attention_mask)[0]
        return hidden_states


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        first_token_tensor = hidden_states[:, 0]
        pooled_output = self.dense(first_token_tensor)
        pooled_output = self.activation(pooled_output)
        return pooled_output


class BertModel(nn.Module):
    def __init__(self, config: Optional[BertConfig] = None):
        super().__init__()
        config = config or BertConfig()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)
        self.apply(lambda m: _init_transformer_weights(m, config.initializer_range))

    def get_extended_attention_mask(self, attention_mask: torch.Tensor,
                                    dtype: torch.dtype) -> torch.Tensor:
        extended = attention_mask[:, None, None, :]
        extended = extended.to(dtype=dtype)
        extended = (1.0 - extended) * torch.finfo(dtype).min
        return extended

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        embedding_output = self.embeddings(input_ids, token_type_ids)
        extended_attention_mask = self.get_extended_attention_mask(
            attention_mask, embedding_output.dtype)
        sequence_output = self.encoder(embedding_output, extended_attention_mask)
        pooled_output = self.pooler(sequence_output)
        return sequence_output, pooled_output


def _init_transformer_weights(module: nn.Module, std: float) -> None:
    """Initialisation in the style of transformers' _init_weights (normal(0, std))."""
    if isinstance(module, (nn.Linear, Conv1D)):
        module.weight.data.normal_(mean=0.0, std=std)
        if module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.data.normal_(mean=0.0, std=std)
        if module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.weight.data.fill_(1.0)
        module.bias.data.zero_()


# ---------------------------------------------------------------------------
# GPT-2


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 2
    n_inner: Optional[int] = None  # 4 * n_embd when None
    layer_norm_epsilon: float = 1e-5
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    resid_pdrop: float = 0.1
    initializer_range: float = 0.02


class Conv1D(nn.Module):
    """Linear layer with transposed weight (nx x nf), computed with addmm."""

    def __init__(self, nf: int, nx: int):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        x = x.view(size_out)
        return x


class GPT2Attention(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        max_positions = config.n_positions
        self.register_buffer(
            "bias",
            torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
                1, 1, max_positions, max_positions),
            persistent=False)
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.split_size = self.embed_dim
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError("n_embd must be divisible by n_head")
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def _attn(self, query: torch.Tensor, key: torch.Tensor,
              value: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        attn_weights = attn_weights / torch.full(
            [], value.size(-1) ** 0.5, dtype=attn_weights.dtype, device=attn_weights.device)

        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length:key_length, :key_length]
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.full([], mask_value, dtype=attn_weights.dtype).to(attn_weights.device)
        attn_weights = torch.where(causal_mask, attn_weights.to(attn_weights.dtype), mask_value)

        attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        attn_weights = attn_weights.type(value.dtype)
        attn_weights = self.attn_dropout(attn_weights)
        attn_output = torch.matmul(attn_weights, value)
        return attn_output, attn_weights

    def _split_heads(self, tensor: torch.Tensor, num_heads: int, attn_head_size: int) -> torch.Tensor:
        new_shape = tensor.size()[:-1] + (num_heads, attn_head_size)
        tensor = tensor.view(new_shape)
        return tensor.permute(0, 2, 1, 3)

    def _merge_heads(self, tensor: torch.Tensor, num_heads: int, attn_head_size: int) -> torch.Tensor:
        tensor = tensor.permute(0, 2, 1, 3).contiguous()
        new_shape = tensor.size()[:-2] + (num_heads * attn_head_size,)
        return tensor.view(new_shape)

    def forward(self, hidden_states: torch.Tensor) -> Tuple[torch.Tensor]:
        query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query = self._split_heads(query, self.num_heads, self.head_dim)
        key = self._split_heads(key, self.num_heads, self.head_dim)
        value = self._split_heads(value, self.num_heads, self.head_dim)
        attn_output, _ = self._attn(query, key, value)
        attn_output = self._merge_heads(attn_output, self.num_heads, self.head_dim)
        attn_output = self.c_proj(attn_output)
        attn_output = self.resid_dropout(attn_output)
        return (attn_output,)


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size: int, config: GPT2Config):
        super().__init__()
        embed_dim = config.n_embd
        self.c_fc = Conv1D(intermediate_size, embed_dim)
        self.c_proj = Conv1D(embed_dim, intermediate_size)
        self.act = NewGELUActivation()
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.c_fc(hidden_states)
        hidden_states = self.act(hidden_states)
        hidden_states = self.c_proj(hidden_states)
        hidden_states = self.dropout(hidden_states)
        return hidden_states


class GPT2Block(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        hidden_size = config.n_embd
        inner_dim = config.n_inner if config.n_inner is not None else 4 * hidden_size
        self.ln_1 = nn.LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(inner_dim, config)

    def forward(self, hidden_states: torch.Tensor) -> Tuple[torch.Tensor]:
        residual = hidden_states
        hidden_states = self.ln_1(hidden_states)
        attn_outputs = self.attn(hidden_states)
        attn_output = attn_outputs[0]
        hidden_states = attn_output + residual

        residual = hidden_states
        hidden_states = self.ln_2(hidden_states)
        feed_forward_hidden_states = self.mlp(hidden_states)
        hidden_states = residual + feed_forward_hidden_states
        return (hidden_states,) + attn_outputs[1:]


class GPT2Model(nn.Module):
    def __init__(self, config: Optional[GPT2Config] = None):
        super().__init__()
        config = config or GPT2Config()
        self.config = config
        self.embed_dim = config.n_embd
        self.wte = nn.Embedding(config.vocab_size, self.embed_dim)
        self.wpe = nn.Embedding(config.n_positions, self.embed_dim)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_epsilon)
        self.apply(lambda m: _init_transformer_weights(m, config.initializer_range))
        # GPT-2's scaled init of the residual projections.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                p.data.normal_(mean=0.0, std=config.initializer_range / math.sqrt(2 * config.n_layer))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long, device=input_ids.device)
        position_ids = position_ids.unsqueeze(0).view(-1, input_shape[-1])

        inputs_embeds = self.wte(input_ids)
        position_embeds = self.wpe(position_ids)
        hidden_states = inputs_embeds + position_embeds
        hidden_states = self.drop(hidden_states)

        for block in self.h:
            hidden_states = block(hidden_states)[0]

        hidden_states = self.ln_f(hidden_states)
        output_shape = input_shape + (hidden_states.size(-1),)
        hidden_states = hidden_states.view(output_shape)
        return hidden_states


# ---------------------------------------------------------------------------
# A small scripted model of our own (control flow that depends only on shapes)


class ResidualBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, dim)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.fc(self.norm(x)))


class CustomScriptedNet(nn.Module):
    """Input float [B, 128] (or [B, T, 128], averaged over T); output logits [B, 10]."""

    def __init__(self, in_features: int = 128, dim: int = 64, num_blocks: int = 3,
                 groups: int = 4, num_classes: int = 10):
        super().__init__()
        self.groups = groups
        self.stem = nn.Sequential(nn.Linear(in_features, dim), nn.ReLU())
        self.blocks = nn.ModuleList([ResidualBlock(dim) for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(dim)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.mean(dim=1)
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        grouped = h.view(h.size(0), self.groups, -1)
        weights = torch.softmax(grouped, dim=-1)
        h = self.flatten(weights * grouped)
        return self.head(h)


# ---------------------------------------------------------------------------
# Fixture specifications


@dataclass
class InputSpec:
    name: str
    dtype: str  # "int64" | "float32"
    shape: List[int]


@dataclass
class FixtureSpec:
    name: str
    kind: str  # "trace" | "script"
    build: Callable[[], nn.Module]
    inputs: List[InputSpec]
    outputs: List[str]
    make_inputs: Callable[[], Tuple[torch.Tensor, ...]]
    cli_args: List[str] = field(default_factory=list)
    # Anything that changes the generated file but is not in the source code
    # (configs given on the command line) goes here, into the stamp.
    config: Dict[str, object] = field(default_factory=dict)

    def manifest_entry(self) -> Dict[str, object]:
        entry = {
            "file": self.name + ".pt",
            "kind": self.kind,
            # The outputs get the names the Python model gives them (traced graphs only
            # know internal value names).
            "cli_args": list(self.cli_args) + ["--output-names", ",".join(self.outputs)],
            "inputs": [{"name": i.name, "dtype": i.dtype, "shape": list(i.shape)}
                       for i in self.inputs],
            "outputs": list(self.outputs),
        }
        if self.config:
            entry["config"] = dict(self.config)
        return entry


SEQ_LEN = 128


def bert_example_inputs(seq_len: int = SEQ_LEN) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Deterministic example inputs: ids in [1000, 30000), last 16 positions masked,
    second half of the sequence is segment 1."""
    g = torch.Generator().manual_seed(1234)
    input_ids = torch.randint(1000, 30000, (1, seq_len), dtype=torch.int64, generator=g)
    input_ids[0, 0] = 101  # [CLS]
    attention_mask = torch.ones(1, seq_len, dtype=torch.int64)
    n_pad = min(16, seq_len // 4)
    if n_pad > 0:
        attention_mask[0, seq_len - n_pad:] = 0
        input_ids[0, seq_len - n_pad:] = 0  # [PAD]
    token_type_ids = torch.zeros(1, seq_len, dtype=torch.int64)
    token_type_ids[0, seq_len // 2:] = 1
    return input_ids, attention_mask, token_type_ids


def gpt2_example_inputs(seq_len: int = SEQ_LEN, vocab_size: int = 50257) -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(4321)
    return (torch.randint(0, vocab_size, (1, seq_len), dtype=torch.int64, generator=g),)


def image_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(99)
    return (torch.randn(1, 3, 224, 224, generator=g),)


def custom_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return (torch.randn(1, 128, generator=g),)


def example_inputs(spec: FixtureSpec) -> Tuple[torch.Tensor, ...]:
    """Example inputs of a fixture (deterministic), in forward-argument order."""
    return tuple(spec.make_inputs())


def build_bert_tiny() -> nn.Module:
    return BertModel(BertConfig())


def build_gpt2(n_layer: int = 2, n_embd: int = 64, n_head: int = 2) -> nn.Module:
    return GPT2Model(GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=n_head))


def build_torchvision(name: str) -> nn.Module:
    import torchvision
    return getattr(torchvision.models, name)(weights=None)


def build_custom() -> nn.Module:
    return CustomScriptedNet()


def gpt2_spec(name: str, n_layer: int, n_embd: int, n_head: int) -> FixtureSpec:
    return FixtureSpec(
        name=name, kind="trace",
        build=lambda: build_gpt2(n_layer, n_embd, n_head),
        inputs=[InputSpec("input_ids", "int64", [1, SEQ_LEN])],
        outputs=["last_hidden_state"], make_inputs=gpt2_example_inputs,
        config={"gpt2": {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head}})


def standard_specs() -> Dict[str, FixtureSpec]:
    """The fixtures that make_fixtures.py writes by default, by name."""
    specs = [
        FixtureSpec(
            name="bert_tiny", kind="trace", build=build_bert_tiny,
            inputs=[InputSpec("input_ids", "int64", [1, SEQ_LEN]),
                    InputSpec("attention_mask", "int64", [1, SEQ_LEN]),
                    InputSpec("token_type_ids", "int64", [1, SEQ_LEN])],
            outputs=["last_hidden_state", "pooler_output"],
            make_inputs=bert_example_inputs),
        gpt2_spec("gpt2_tiny", 2, 64, 2),
        FixtureSpec(
            name="resnet18", kind="trace", build=lambda: build_torchvision("resnet18"),
            inputs=[InputSpec("x", "float32", [1, 3, 224, 224])],
            outputs=["logits"], make_inputs=image_example_inputs,
            cli_args=["--input-shape", "1,3,224,224"]),
        FixtureSpec(
            name="mobilenet_v2", kind="trace", build=lambda: build_torchvision("mobilenet_v2"),
            inputs=[InputSpec("x", "float32", [1, 3, 224, 224])],
            outputs=["logits"], make_inputs=image_example_inputs,
            cli_args=["--input-shape", "1,3,224,224"]),
        FixtureSpec(
            name="custom_scripted", kind="script", build=build_custom,
            inputs=[InputSpec("x", "float32", [1, 128])],
            outputs=["logits"], make_inputs=custom_example_inputs),
        FixtureSpec(
            name="q_mobilenet_v2", kind="trace", build=lambda: build_quantized_mobilenet_v2(),
            inputs=[InputSpec("x", "float32", [1, 3, 224, 224])],
            outputs=["logits"], make_inputs=image_example_inputs,
            cli_args=["--input-shape", "1,3,224,224"]),
    ]
    return {s.name: s for s in specs}


def spec_for(name: str, config: Optional[Dict[str, object]] = None) -> FixtureSpec:
    """The spec of a fixture by name (standard_specs() or extra_specs()); other GPT-2
    variants need their config ({"gpt2": {"n_layer": .., "n_embd": .., "n_head": ..}},
    as in fixtures.json)."""
    config = config or {}
    if "gpt2" in config:
        g = config["gpt2"]
        return gpt2_spec(name, int(g["n_layer"]), int(g["n_embd"]), int(g["n_head"]))
    specs = standard_specs()
    specs.update(extra_specs())
    if name not in specs:
        raise KeyError("unknown fixture %r (known: %s; a GPT-2 variant needs its config)"
                       % (name, ", ".join(sorted(specs))))
    return specs[name]


def perturb_for_testing(model: nn.Module) -> nn.Module:
    """Make every normalisation and bias parameter non-trivial.

    Fresh models have LayerNorm/BatchNorm weight 1 and bias 0, BatchNorm running
    statistics 0/1, and (transformers-style init) all Linear/Conv1D biases 0. A
    converter that dropped a bias, swapped a LayerNorm's weight and bias or left out a
    BatchNorm in eval mode would still give the right numbers on such a model, so the
    fixtures get small random values there instead (deterministic under the seed).
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(1.0 + 0.1 * torch.randn_like(m.weight))
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(0.1 * torch.randn_like(m.bias))
                if getattr(m, "running_mean", None) is not None:
                    m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean))
                    m.running_var.copy_(0.75 + 0.5 * torch.rand_like(m.running_var))
            elif isinstance(m, (nn.Linear, Conv1D, nn.Conv2d)):
                if m.bias is not None and not bool(m.bias.any()):
                    m.bias.copy_(0.02 * torch.randn_like(m.bias))
    return model


def build_eager(spec: FixtureSpec) -> nn.Module:
    """Build the eager model of a fixture: torch.manual_seed(0), random weights with
    non-trivial normalisation/bias values (perturb_for_testing), eval mode."""
    torch.manual_seed(0)
    model = spec.build()
    perturb_for_testing(model)
    model.eval()
    return model


def load_fixture_weights(model: nn.Module, pt_path: str) -> nn.Module:
    """Load the parameters and buffers of a TorchScript fixture into an eager model.

    A TorchScript file also stores buffers that the eager model registered as
    non-persistent (they are not in its state_dict); those are copied too.
    """
    scripted = torch.jit.load(pt_path, map_location="cpu")
    state = scripted.state_dict()
    own = dict(model.named_parameters())
    own.update(dict(model.named_buffers()))
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise RuntimeError(
            "weights of %s do not fit the eager model: missing %s, unexpected %s"
            % (pt_path, missing[:10], unexpected[:10]))
    with torch.no_grad():
        for key, tensor in own.items():
            src = state[key]
            if src.shape != tensor.shape:
                raise RuntimeError("shape mismatch for %s: %s vs %s"
                                   % (key, tuple(src.shape), tuple(tensor.shape)))
            tensor.copy_(src)
    return model


# ---------------------------------------------------------------------------
# Opt-in fixtures for measuring speed and memory (tools/bench.sh). They are not in
# standard_specs(): make_fixtures.py writes one only when asked by name (--only).
# Defined after everything else so that adding one does not move the source lines
# that the standard fixtures' TorchScript debug info refers to.


class LinearStack(nn.Module):
    """``depth`` square nn.Linear(width, width) layers with a ReLU after each but the
    last: nearly all of the model is weights. Input float [B, width], output [B, width]."""

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.act(x)
        return x


# 9 x Linear(8192, 8192): 604,053,504 parameters, 2,416,214,016 bytes of float32
# weights (2.25 GiB): above protobuf's 2 GiB limit, so an ONNX export of it must put
# the weights in external data.
BIG_MLP_WIDTH = 8192
BIG_MLP_DEPTH = 9


def big_mlp_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    return (torch.randn(1, BIG_MLP_WIDTH, generator=g),)


def build_quantized_mobilenet_v2() -> nn.Module:
    """torchvision's quantizable MobileNetV2 quantized by its own recipe, without the
    pretrained weights (no download): batch-norm statistics of random images, fuse_model,
    the "fbgemm" qconfig (per-channel int8 weights), prepare, calibrate on random images,
    convert. Debian's torch 1.13 has no fbgemm engine: its weights are packed by the
    default one (onednn) and saved as torch 1.13 writes them (issue 23 item 7: LibTorch
    2.13's load of such a file in the binary failed in quantized::conv2d_prepack)."""
    import torch.ao.quantization as tq
    from torchvision.models.quantization import mobilenet_v2

    model = perturb_for_testing(mobilenet_v2(weights=None, quantize=False))
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative: the statistics of all the batches below
        model.train()
        for _ in range(4):
            model(torch.randn(8, 3, 224, 224, generator=g))
        model.eval()
        model.fuse_model()
        model.qconfig = tq.get_default_qconfig("fbgemm")
        tq.prepare(model, inplace=True)
        for _ in range(4):
            model(torch.randn(4, 3, 224, 224, generator=g))
        tq.convert(model, inplace=True)
    return model


def extra_specs() -> Dict[str, FixtureSpec]:
    """Opt-in fixtures (make_fixtures.py --only NAME), by name:

    resnet50   torchvision resnet50, traced at 1x3x224x224 (25.6M parameters)
    gpt2_l2    GPT-2 mirror, hidden 768, 12 heads, 2 layers
    gpt2_l6    ... 6 layers
    gpt2_124m  ... 12 layers: the shape of GPT-2 small (124M parameters)
    gpt2_l24   ... 24 layers
    big_mlp    LinearStack of 9 x Linear(8192, 8192): 2.4 GB of weights (> 2 GiB)
    """
    specs = [
        FixtureSpec(
            name="resnet50", kind="trace", build=lambda: build_torchvision("resnet50"),
            inputs=[InputSpec("x", "float32", [1, 3, 224, 224])],
            outputs=["logits"], make_inputs=image_example_inputs,
            cli_args=["--input-shape", "1,3,224,224"]),
        gpt2_spec("gpt2_l2", 2, 768, 12),
        gpt2_spec("gpt2_l6", 6, 768, 12),
        gpt2_spec("gpt2_124m", 12, 768, 12),
        gpt2_spec("gpt2_l24", 24, 768, 12),
        FixtureSpec(
            name="big_mlp", kind="trace",
            build=lambda: LinearStack(BIG_MLP_WIDTH, BIG_MLP_DEPTH),
            inputs=[InputSpec("x", "float32", [1, BIG_MLP_WIDTH])],
            outputs=["y"], make_inputs=big_mlp_example_inputs,
            cli_args=["--input-shape", "1,%d" % BIG_MLP_WIDTH]),
    ]
    return {s.name: s for s in specs}
