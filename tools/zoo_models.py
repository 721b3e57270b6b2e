"""Eager models of the coverage zoo (tools/zoo.py) that torchvision does not have.

T5Model is written from scratch here, like the BERT and GPT-2 mirrors of
fixture_models.py: it mirrors the module classes, attribute names and forward
semantics of Hugging Face transformers' T5Model (shared embedding, encoder and
decoder T5Stack with a `block` ModuleList of T5Block, whose `layer` ModuleList
holds T5LayerSelfAttention / T5LayerCrossAttention / T5LayerFF; T5LayerNorm, the
RMS norm without mean or bias; relative position bias in the first block of each
stack), but contains no code from that project and needs no download.

HandAttentionNet is a small model of our own that writes attention out by hand
(einsum scores, causal and padding masks through masked_fill, torch.where,
cumsum positions, topk + gather pooling).

Both are written so that torch.jit.script accepts them as well as torch.jit.trace.
"""

import math
from dataclasses import dataclass
from typing import Final, Optional, Tuple

import torch
from torch import nn


# ---------------------------------------------------------------------------
# T5


@dataclass
class T5Config:
    vocab_size: int = 512
    d_model: int = 64
    d_kv: int = 16
    d_ff: int = 128
    num_layers: int = 2
    num_decoder_layers: int = 2
    num_heads: int = 4
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.1
    layer_norm_epsilon: float = 1e-6


# transformers uses torch.finfo(dtype).min; torch.jit.script cannot call torch.finfo.
MASK_MIN = torch.finfo(torch.float32).min


class T5LayerNorm(nn.Module):
    """Root-mean-square norm: no mean subtraction, no bias (T5's LayerNorm)."""

    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states


class T5DenseActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = nn.ReLU()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.act(self.wi(hidden_states))
        hidden_states = self.dropout(hidden_states)
        return self.wo(hidden_states)


class T5LayerFF(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.DenseReluDense = T5DenseActDense(config)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        forwarded_states = self.DenseReluDense(self.layer_norm(hidden_states))
        return hidden_states + self.dropout(forwarded_states)


class T5Attention(nn.Module):
    def __init__(self, config: T5Config, is_decoder: bool, has_relative_attention_bias: bool):
        super().__init__()
        self.is_decoder = is_decoder
        self.has_relative_attention_bias = has_relative_attention_bias
        self.relative_attention_num_buckets = config.relative_attention_num_buckets
        self.relative_attention_max_distance = config.relative_attention_max_distance
        self.n_heads = config.num_heads
        self.key_value_proj_dim = config.d_kv
        self.inner_dim = self.n_heads * self.key_value_proj_dim
        self.q = nn.Linear(config.d_model, self.inner_dim, bias=False)
        self.k = nn.Linear(config.d_model, self.inner_dim, bias=False)
        self.v = nn.Linear(config.d_model, self.inner_dim, bias=False)
        self.o = nn.Linear(self.inner_dim, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        # Only the first block of a stack owns a bias table; the others reuse its result.
        self.relative_attention_bias = nn.Embedding(
            self.relative_attention_num_buckets if has_relative_attention_bias else 1, self.n_heads)

    @staticmethod
    def _relative_position_bucket(relative_position: torch.Tensor, bidirectional: bool,
                                  num_buckets: int, max_distance: int) -> torch.Tensor:
        """Half the buckets for exact small offsets, the rest log-spaced up to max_distance;
        bidirectional attention splits them between positive and negative offsets."""
        relative_buckets = torch.zeros_like(relative_position)
        if bidirectional:
            num_buckets = num_buckets // 2
            relative_buckets = relative_buckets + (relative_position > 0).to(torch.long) * num_buckets
            relative_position = torch.abs(relative_position)
        else:
            relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
        max_exact = num_buckets // 2
        is_small = relative_position < max_exact
        scaled = torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
        if_large = max_exact + (scaled * (num_buckets - max_exact)).to(torch.long)
        if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
        return relative_buckets + torch.where(is_small, relative_position, if_large)

    def compute_bias(self, query_length: int, key_length: int, device: torch.device) -> torch.Tensor:
        context_position = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
        memory_position = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
        relative_position = memory_position - context_position
        buckets = self._relative_position_bucket(
            relative_position, not self.is_decoder,
            self.relative_attention_num_buckets, self.relative_attention_max_distance)
        values = self.relative_attention_bias(buckets)  # [q, k, heads]
        return values.permute([2, 0, 1]).unsqueeze(0)  # [1, heads, q, k]

    def _shape(self, states: torch.Tensor, batch_size: int) -> torch.Tensor:
        return states.view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)

    def forward(self, hidden_states: torch.Tensor, mask: Optional[torch.Tensor] = None,
                key_value_states: Optional[torch.Tensor] = None,
                position_bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        batch_size = hidden_states.size(0)
        seq_length = hidden_states.size(1)
        source = hidden_states if key_value_states is None else key_value_states
        key_length = source.size(1)

        query_states = self._shape(self.q(hidden_states), batch_size)
        key_states = self._shape(self.k(source), batch_size)
        value_states = self._shape(self.v(source), batch_size)
        # T5 folds the 1/sqrt(d) scaling into its initialisation: no scaling here.
        scores = torch.matmul(query_states, key_states.transpose(3, 2))

        if position_bias is None:
            if self.has_relative_attention_bias:
                bias = self.compute_bias(seq_length, key_length, scores.device)
            else:
                bias = torch.zeros((1, self.n_heads, seq_length, key_length),
                                   device=scores.device, dtype=scores.dtype)
            if mask is not None:
                bias = bias + mask
        else:
            bias = position_bias
        scores = scores + bias
        attn_weights = nn.functional.softmax(scores.float(), dim=-1).type_as(scores)
        attn_weights = self.dropout(attn_weights)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous().view(batch_size, -1, self.inner_dim)
        return self.o(attn_output), bias


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config: T5Config, is_decoder: bool, has_relative_attention_bias: bool):
        super().__init__()
        self.SelfAttention = T5Attention(config, is_decoder, has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states: torch.Tensor, attention_mask: Optional[torch.Tensor],
                position_bias: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        normed = self.layer_norm(hidden_states)
        attention_output, bias = self.SelfAttention(normed, attention_mask, None, position_bias)
        return hidden_states + self.dropout(attention_output), bias


class T5LayerCrossAttention(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.EncDecAttention = T5Attention(config, True, False)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states: torch.Tensor, key_value_states: torch.Tensor,
                attention_mask: Optional[torch.Tensor],
                position_bias: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        normed = self.layer_norm(hidden_states)
        attention_output, bias = self.EncDecAttention(normed, attention_mask, key_value_states, position_bias)
        return hidden_states + self.dropout(attention_output), bias


class T5Block(nn.Module):
    is_decoder: Final[bool]  # a constant, so that torch.jit.script compiles only one branch

    def __init__(self, config: T5Config, is_decoder: bool, has_relative_attention_bias: bool):
        super().__init__()
        self.is_decoder = is_decoder
        layers = [T5LayerSelfAttention(config, is_decoder, has_relative_attention_bias)]
        if is_decoder:
            layers.append(T5LayerCrossAttention(config))
        layers.append(T5LayerFF(config))
        self.layer = nn.ModuleList(layers)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor,
                position_bias: Optional[torch.Tensor],
                encoder_hidden_states: Optional[torch.Tensor],
                encoder_attention_mask: Optional[torch.Tensor],
                encoder_decoder_position_bias: Optional[torch.Tensor]
                ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        cross_bias: Optional[torch.Tensor] = None
        hidden_states, self_bias = self.layer[0](hidden_states, attention_mask, position_bias)
        if self.is_decoder:
            assert encoder_hidden_states is not None
            hidden_states, cross_bias = self.layer[1](hidden_states, encoder_hidden_states,
                                                      encoder_attention_mask, encoder_decoder_position_bias)
        hidden_states = self.layer[-1](hidden_states)
        return hidden_states, self_bias, cross_bias


class T5Stack(nn.Module):
    def __init__(self, config: T5Config, embed_tokens: nn.Embedding, is_decoder: bool):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.is_decoder = is_decoder
        self.mask_min = MASK_MIN
        n = config.num_decoder_layers if is_decoder else config.num_layers
        self.block = nn.ModuleList([T5Block(config, is_decoder, i == 0) for i in range(n)])
        self.final_layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                encoder_hidden_states: Optional[torch.Tensor] = None,
                encoder_attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch_size = input_ids.size(0)
        seq_length = input_ids.size(1)
        inputs_embeds = self.embed_tokens(input_ids)
        # [B, 1, 1, S] additive mask; the decoder also hides later positions.
        mask = attention_mask[:, None, None, :].to(inputs_embeds.dtype)
        if self.is_decoder:
            seq_ids = torch.arange(seq_length, device=input_ids.device)
            causal = seq_ids[None, None, :].repeat(batch_size, seq_length, 1) <= seq_ids[None, :, None]
            mask = causal[:, None, :, :].to(inputs_embeds.dtype) * mask
        extended_mask = (1.0 - mask) * self.mask_min
        encoder_extended_mask: Optional[torch.Tensor] = None
        if encoder_attention_mask is not None:
            encoder_extended_mask = (1.0 - encoder_attention_mask[:, None, None, :].to(inputs_embeds.dtype)) \
                * self.mask_min

        hidden_states = self.dropout(inputs_embeds)
        position_bias: Optional[torch.Tensor] = None
        encoder_decoder_position_bias: Optional[torch.Tensor] = None
        for layer_module in self.block:
            hidden_states, self_bias, cross_bias = layer_module(
                hidden_states, extended_mask, position_bias, encoder_hidden_states,
                encoder_extended_mask, encoder_decoder_position_bias)
            position_bias = self_bias
            encoder_decoder_position_bias = cross_bias
        hidden_states = self.final_layer_norm(hidden_states)
        return self.dropout(hidden_states)


class T5Model(nn.Module):
    """Inputs input_ids, attention_mask, decoder_input_ids (int64 [B, S]); output the
    decoder's last hidden state [B, S, d_model]."""

    def __init__(self, config: Optional[T5Config] = None):
        super().__init__()
        config = config or T5Config()
        self.config = config
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config, self.shared, is_decoder=False)
        self.decoder = T5Stack(config, self.shared, is_decoder=True)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, config.d_model ** -0.5)
                elif isinstance(m, T5LayerNorm):
                    m.weight.copy_(1.0 + 0.1 * torch.randn_like(m.weight))
                elif isinstance(m, nn.Embedding):
                    m.weight.normal_(0.0, 1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                decoder_input_ids: torch.Tensor) -> torch.Tensor:
        encoder_hidden_states = self.encoder(input_ids, attention_mask)
        decoder_mask = torch.ones_like(decoder_input_ids)
        return self.decoder(decoder_input_ids, decoder_mask, encoder_hidden_states, attention_mask)


def t5_example_inputs(seq_len: int = 16) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(55)
    input_ids = torch.randint(0, 32, (1, seq_len), generator=g)
    attention_mask = torch.ones(1, seq_len, dtype=torch.long)
    decoder_input_ids = torch.randint(0, 32, (1, seq_len), generator=g)
    return input_ids, attention_mask, decoder_input_ids


# ---------------------------------------------------------------------------
# Hand-written attention


class MaskedSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        b, t, c = x.size(0), x.size(1), x.size(2)
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * self.scale
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        # A large finite value for padded keys: a row whose only visible keys are
        # padding still gets a finite softmax.
        scores = scores.masked_fill(padding[:, None, None, :], -1e9)
        probs = torch.softmax(scores, dim=-1)
        out = torch.einsum("bhqk,bkhd->bqhd", probs, v).reshape(b, t, c)
        return self.out_proj(out)


class HandAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedSelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), padding)
        return x + self.mlp(self.norm2(x))


class TopKPool(nn.Module):
    """Mean of the k tokens with the highest score."""

    def __init__(self, dim: int, k: int):
        super().__init__()
        self.k = k
        self.score = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        scores = self.score(x).squeeze(-1).masked_fill(padding, -1e4)
        _, index = torch.topk(scores, self.k, dim=1)
        index = index.unsqueeze(-1).expand(-1, -1, x.size(2))
        return torch.gather(x, 1, index).mean(dim=1)


class HandAttentionNet(nn.Module):
    """Input float [B, T, in_features]; a token whose first feature is below -1 is
    padding. Output logits [B, num_classes]."""

    def __init__(self, in_features: int = 32, dim: int = 32, heads: int = 4, num_blocks: int = 2,
                 max_len: int = 64, k: int = 4, num_classes: int = 10):
        super().__init__()
        self.embed = nn.Linear(in_features, dim)
        self.pos_embed = nn.Embedding(max_len, dim)
        self.blocks = nn.ModuleList([HandAttentionBlock(dim, heads) for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(dim)
        self.pool = TopKPool(dim, k)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = x[:, :, 0] < -1.0
        valid = (~padding).to(torch.long)
        # Position of each real token among the real ones; padding gets position 0.
        positions = torch.cumsum(valid, dim=1) * valid
        h = self.embed(x) + self.pos_embed(positions)
        h = torch.where(padding[:, :, None], torch.zeros_like(h), h)
        for block in self.blocks:
            h = block(h, padding)
        h = self.norm(h)
        return self.head(self.pool(h, padding))


def hand_attention_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(77)
    return (torch.randn(1, 16, 32, generator=g),)


# ---------------------------------------------------------------------------
# Recurrent models


class LstmLanguageModel(nn.Module):
    """Input token ids int64 [B, T]; output next-token logits [B, T, vocab]. A two-layer
    batch_first nn.LSTM called without initial states (it makes zeros)."""

    def __init__(self, vocab_size: int = 100, dim: int = 32, hidden: int = 48, num_layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=num_layers, dropout=0.1, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(self.embed(input_ids))
        return self.head(output)


def lstm_lm_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(21)
    return (torch.randint(0, 100, (1, 12), generator=g),)


class GruClassifier(nn.Module):
    """Input features [B, T, F]; output logits [B, classes]. A bidirectional two-layer
    batch_first nn.GRU from a learned initial state, a sequence-first ReLU nn.RNN without
    biases over its output, then the mean over time and the RNN's last step."""

    def __init__(self, features: int = 20, hidden: int = 24, num_classes: int = 5):
        super().__init__()
        self.gru = nn.GRU(features, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.h0 = nn.Parameter(torch.randn(4, 1, hidden) * 0.1)
        self.rnn = nn.RNN(2 * hidden, hidden, nonlinearity="relu", bias=False)
        self.head = nn.Linear(3 * hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.h0.expand(-1, x.size(0), -1).contiguous()
        output, _ = self.gru(x, h0)
        steps, _ = self.rnn(output.transpose(0, 1))
        return self.head(torch.cat([output.mean(dim=1), steps[-1]], dim=1))


def gru_classifier_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(22)
    return (torch.randn(1, 10, 20, generator=g),)


class RecurrentCellsNet(nn.Module):
    """Input features [B, T, F]; output logits [B, classes]. nn.LSTMCell, nn.GRUCell and a
    tanh nn.RNNCell stepped over T in Python (a trace unrolls the loop)."""

    def __init__(self, features: int = 12, hidden: int = 16, num_classes: int = 4):
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTMCell(features, hidden)
        self.gru = nn.GRUCell(hidden, hidden)
        self.rnn = nn.RNNCell(hidden, hidden)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(x.size(0), self.hidden, dtype=x.dtype)
        c, g, r = h, h, h
        for t in range(x.size(1)):
            h, c = self.lstm(x[:, t], (h, c))
            g = self.gru(h, g)
            r = self.rnn(g, r)
        return self.head(r)


def recurrent_cells_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(23)
    return (torch.randn(1, 5, 12, generator=g),)


# ---------------------------------------------------------------------------
# Grid sampling


class FlowWarpNet(nn.Module):
    """Input image [B, 3, H, W]; output [B, 4, H, W]. A conv predicts a flow field and the
    image is warped along it (bilinear, border padding, align_corners, as optical-flow
    models warp), and sampled on a learned affine grid with nearest/zeros and
    bicubic/reflection; a 1x1 conv mixes the three."""

    def __init__(self):
        super().__init__()
        self.flow = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 3, padding=1), nn.Tanh())
        self.theta = nn.Parameter(torch.tensor([[0.9, 0.23, 0.05], [-0.17, 1.1, -0.06]]))
        self.mix = nn.Conv2d(9, 4, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[2], image.shape[3]
        gy, gx = torch.meshgrid(torch.linspace(-1.0, 1.0, h), torch.linspace(-1.0, 1.0, w), indexing="ij")
        base = torch.stack([gx, gy], dim=-1).unsqueeze(0)  # [1, H, W, 2] of (x, y)
        grid = base + 0.1 * self.flow(image).permute(0, 2, 3, 1)
        warped = nn.functional.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
        homogeneous = torch.cat([base, torch.ones_like(base[..., :1])], dim=-1)
        affine = torch.matmul(homogeneous, self.theta.t()).expand(image.shape[0], -1, -1, -1)
        near = nn.functional.grid_sample(image, affine * 1.2, mode="nearest", padding_mode="zeros",
                                         align_corners=False)
        cubic = nn.functional.grid_sample(image, affine * 1.3, mode="bicubic", padding_mode="reflection",
                                          align_corners=False)
        return self.mix(torch.cat([warped, near, cubic], dim=1))


def flow_warp_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(24)
    return (torch.randn(1, 3, 24, 32, generator=g),)


# ---------------------------------------------------------------------------
# torch.nn Transformer


class TransformerSeq2Seq(nn.Module):
    """Inputs src [B, S, d] and tgt [B, T, d]; output [B, T, d]. A source token whose first
    feature is below -1 is padding (never the first). An nn.TransformerEncoder of gelu
    pre-norm layers over src with that key padding mask, and an nn.Transformer (relu,
    post-norm) over (src, tgt) with a causal target mask. Traced in eval under no_grad, the
    encoder layers take LibTorch's fast path (aten::_transformer_encoder_layer_fwd)."""

    def __init__(self, d_model: int = 32, heads: int = 4, ff: int = 64):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, batch_first=True, norm_first=True,
                                           activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.transformer = nn.Transformer(d_model, heads, 1, 1, ff, batch_first=True)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        padding = (src[:, :, 0] < -1.0) & (torch.arange(src.size(1)) > 0)
        memory = self.encoder(src, src_key_padding_mask=padding)
        t = tgt.size(1)
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        return self.transformer(memory, tgt, tgt_mask=causal)


def transformer_seq2seq_example_inputs() -> Tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(25)
    return (torch.randn(1, 10, 32, generator=g), torch.randn(1, 6, 32, generator=g))


# ---------------------------------------------------------------------------
# Detection head


class BoxDecoder(nn.Module):
    """Anchor (cx, cy, w, h) plus deltas (dx, dy, dw, dh) -> (x1, y1, x2, y2), clipped."""

    def __init__(self, image_size: int):
        super().__init__()
        self.image_size = image_size

    def forward(self, anchors: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
        # Deltas scaled down as torchvision's BoxCoder weights (10, 10, 5, 5) do.
        cx = anchors[:, 0] + deltas[:, 0] / 10 * anchors[:, 2]
        cy = anchors[:, 1] + deltas[:, 1] / 10 * anchors[:, 3]
        w = anchors[:, 2] * torch.exp((deltas[:, 2] / 5).clamp(max=4.0))
        h = anchors[:, 3] * torch.exp((deltas[:, 3] / 5).clamp(max=4.0))
        boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)
        return boxes.clamp(min=0.0, max=float(self.image_size))


class TinyDetector(nn.Module):
    """Image [1, 3, 64, 64] -> the detections torchvision's detection models return:
    boxes [D, 4], scores [D], labels [D]. A small conv backbone, box and class heads
    over 2 anchors per cell of its 16 x 16 map, box decoding, the 64 best pre-NMS
    candidates, per-class NMS (torchvision.ops.batched_nms) and the top
    min(40, kept) detections (torchvision's _topk_min, so the count stays a run-time
    value when traced). D depends on the image."""

    def __init__(self, num_classes: int = 3, image_size: int = 64):
        super().__init__()
        import torchvision  # noqa: F401 (imported here: its first import cannot run inside a trace)

        self.num_classes = num_classes
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        anchors_per_cell = 2
        self.box_head = nn.Conv2d(32, anchors_per_cell * 4, 1)
        self.cls_head = nn.Conv2d(32, anchors_per_cell * num_classes, 1)
        self.decoder = BoxDecoder(image_size)
        cells = image_size // 4
        centers = (torch.arange(cells, dtype=torch.float32) + 0.5) * 4
        cy, cx = torch.meshgrid(centers, centers, indexing="ij")
        sizes = torch.tensor([24.0, 40.0])
        anchors = torch.stack([cx[:, :, None].expand(-1, -1, 2), cy[:, :, None].expand(-1, -1, 2),
                               sizes.expand(cells, cells, 2), sizes.expand(cells, cells, 2)], dim=-1)
        self.register_buffer("anchors", anchors.reshape(-1, 4))

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torchvision
        from torchvision.models.detection._utils import _topk_min

        features = self.backbone(image)
        deltas = self.box_head(features).permute(0, 2, 3, 1).reshape(-1, 4)
        logits = self.cls_head(features).permute(0, 2, 3, 1).reshape(-1, self.num_classes)
        boxes = self.decoder(self.anchors, deltas)
        scores, labels = torch.sigmoid(logits).max(dim=1)
        scores, best = scores.topk(64)
        boxes, labels = boxes[best], labels[best]
        keep = torchvision.ops.batched_nms(boxes, scores, labels, 0.3)
        scores, order = scores[keep].topk(_topk_min(scores[keep], 40, 0))
        keep = keep[order]
        return boxes[keep], scores, labels[keep]


def tiny_detector_example_inputs() -> Tuple[torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    return (torch.randn(1, 3, 64, 64, generator=g),)
