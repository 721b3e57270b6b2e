#!/usr/bin/env python3
"""Write a Hugging Face hub cache of tiny transformers models, offline, for modelexport's tests.

Usage:
    make_hf_cache.py OUT_CACHE_DIR [--only NAME,NAME]   build (all, or the named repos)
    make_hf_cache.py --list                              repo ids and their classes

OUT_CACHE_DIR gets the layout huggingface_hub's file_download.py writes (see its
_create_symlink / repo_folder_name / _cache_commit_hash_for_specific_revision):

    models--ORG--NAME/blobs/<hash>                      the file's bytes
    models--ORG--NAME/snapshots/<commit>/<file>         -> ../../blobs/<hash> (relative symlink)
    models--ORG--NAME/refs/main                         the commit hash, no newline

A blob is named by its git blob sha1 (`git hash-object`), or by the sha256 of its bytes
when the hub keeps it in LFS: the patterns of the hub's default .gitattributes (weights,
*.model, archives, ...) or a file over 10 MB. The commit hash is the sha1 of the snapshot's
file names and blob hashes, so the same files give the same commit.

Point transformers at the cache with HF_HUB_CACHE=OUT_CACHE_DIR HF_HUB_OFFLINE=1; then
AutoConfig / AutoModel* / AutoTokenizer / AutoImageProcessor / AutoProcessor.from_pretrained
load the repo ids below. Every model is a transformers class built from a tiny config with
seeded random weights; every preprocessor is built here too (tokenizers trained with the
`tokenizers` library on CORPUS, image processors for 32x32 or 64x64 images, feature
extractors for 16 kHz audio). OUT_CACHE_DIR/manifest.json lists, per repo id, the class,
the task kind, the Auto class, the preprocessor class and the inputs the model takes.

Needs torch, transformers (4.57), tokenizers and pillow (for the image processors).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

# ---------------------------------------------------------------------------------------
# The hub cache layout
# ---------------------------------------------------------------------------------------

# Patterns of the hub's default .gitattributes (the files a new model repository keeps in
# LFS); the snapshot carries this file too, as a `snapshot_download` would.
LFS_PATTERNS: tuple[str, ...] = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
    "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
    "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
    "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
)
GITATTRIBUTES: str = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS)
# The hub stores any file larger than this in LFS whatever its name.
LFS_SIZE_LIMIT: int = 10 * 1024 * 1024


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file's bytes, as `git hash-object` computes it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(relative_name: str, size: int) -> bool:
    """Whether the hub keeps this file in LFS (its blob is then named by its sha256)."""
    base = relative_name.rsplit("/", 1)[-1]
    return size > LFS_SIZE_LIMIT or any(fnmatch.fnmatch(base, p) for p in LFS_PATTERNS)


def blob_name(relative_name: str, data: bytes) -> str:
    """The name of a file's blob in the cache: its sha256 if in LFS, else its git sha1."""
    if is_lfs(relative_name, len(data)):
        return hashlib.sha256(data).hexdigest()
    return git_blob_sha1(data)


def repo_folder(cache: Path, repo_id: str) -> Path:
    """models--ORG--NAME (or models--NAME), as huggingface_hub's repo_folder_name."""
    return cache / "--".join(["models", *repo_id.split("/")])


def lay_into_cache(files_dir: Path, cache: Path, repo_id: str) -> str:
    """Move the files under files_dir into the cache as one snapshot of repo_id (replacing
    any earlier one); returns the commit hash, which refs/main names."""
    entries: list[tuple[str, str, bytes]] = []
    for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(files_dir).as_posix()
        data = path.read_bytes()
        entries.append((relative, blob_name(relative, data), data))
    listing = "".join(f"{name}\0{blob}\n" for name, blob, _ in entries)
    commit = hashlib.sha1(f"{repo_id}\n{listing}".encode()).hexdigest()

    repo_dir = repo_folder(cache, repo_id)
    if repo_dir.exists():
        shutil.rmtree(repo_dir)
    blobs = repo_dir / "blobs"
    snapshot = repo_dir / "snapshots" / commit
    blobs.mkdir(parents=True)
    for name, blob, data in entries:
        blob_path = blobs / blob
        if not blob_path.exists():
            blob_path.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob_path, link.parent), link)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)  # no newline, as the hub client writes it
    return commit


# ---------------------------------------------------------------------------------------
# Tokenizers, trained offline on a built-in corpus
# ---------------------------------------------------------------------------------------

CORPUS: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "A small model can still learn the shape of a sentence, if not its meaning.",
    "Every node in the exported graph remembers the module it came from.",
    "Attention layers mix information across the tokens of a sequence.",
    "Convolutions slide small filters over images to find edges and textures.",
    "The encoder reads the input; the decoder writes the output one token at a time.",
    "Speech recognition turns sound waves into text, frame by frame.",
    "Hello world! This is a test of the tokenizer, with punctuation: commas, dots; and more?",
    "Numbers like 12, 345 and 6789 appear in text as often as names like Alice or Bob.",
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells.",
    "In the beginning the weights are random, and the outputs are noise.",
    "Transformers stack blocks of attention and feed forward layers with residual links.",
    "Layer normalization keeps the activations in a stable range during training.",
    "An image classifier predicts one label for the whole picture.",
    "A segmentation model predicts one label for every pixel of the picture.",
    "Language models predict the next word from the words that came before it.",
    "The weather today is sunny with a light breeze from the west.",
    "They walked along the path, talking about books, music and old friends.",
    "Please export the model, run it again, and compare the results carefully.",
    "Tokenization splits text into pieces that the model has seen before.",
)

# The tokenizers library's trainers are not reproducible once a word-final suffix or a
# "##" prefix is involved (their symbols are numbered in hash-map order), so the merges
# are learned here, in plain Python, with ties broken by the symbols' text.
MERGES: int = 160


def learn_merges(words: Counter[tuple[str, ...]], join: Callable[[str, str], str]) -> list[tuple[str, str]]:
    """Up to MERGES BPE merges over words (symbol tuples with their counts): each time the
    most frequent adjacent pair (seen at least twice; the smaller pair on a tie) becomes
    one symbol, join(a, b)."""
    merges: list[tuple[str, str]] = []
    current = dict(words)
    for _ in range(MERGES):
        pairs: Counter[tuple[str, str]] = Counter()
        for symbols, count in current.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = join(*best)
        updated: Counter[tuple[str, ...]] = Counter()
        for symbols, count in current.items():
            out: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            updated[tuple(out)] += count
        current = dict(updated)
    return merges


def byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    table = bytes_to_unicode()
    return [table[b] for b in range(256)]


def corpus_pieces(pre_tokenizer: Any, lowercase: bool = False) -> Counter[str]:
    """The corpus split by a `tokenizers` pre-tokenizer, with each piece's count."""
    pieces: Counter[str] = Counter()
    for line in CORPUS:
        pieces.update(piece for piece, _ in pre_tokenizer.pre_tokenize_str(line.lower() if lowercase else line))
    return pieces


def merged_vocab(head: list[str], merges: list[tuple[str, str]], join: Callable[[str, str], str]) -> dict[str, int]:
    """head (specials and base symbols) then each merge's result, numbered in that order."""
    vocab: dict[str, int] = {}
    for token in [*head, *(join(a, b) for a, b in merges)]:
        vocab.setdefault(token, len(vocab))
    return vocab


def concat(a: str, b: str) -> str:
    return a + b


def byte_level_vocab_and_merges(specials: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """GPT-2-style byte-level BPE: specials, the 256 byte symbols, then the merges."""
    from tokenizers import pre_tokenizers

    pieces = corpus_pieces(pre_tokenizers.ByteLevel(add_prefix_space=False))
    merges = learn_merges(Counter({tuple(piece): n for piece, n in pieces.items()}), concat)
    return merged_vocab([*specials, *byte_alphabet()], merges, concat), merges


def write_vocab_and_merges(vocab: dict[str, int], merges: list[tuple[str, str]], directory: Path) -> tuple[str, str]:
    """vocab.json and merges.txt (with the "#version" header the slow tokenizers skip)."""
    directory.mkdir()
    vocab_file, merges_file = directory / "vocab.json", directory / "merges.txt"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False))
    merges_file.write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return str(vocab_file), str(merges_file)


def byte_level_files_tokenizer(cls: type, specials: list[str], scratch: Path, **kwargs: Any) -> Any:
    """A fast tokenizer of `cls` made from vocab.json + merges.txt, converted from its slow
    class by transformers (GPT-2, RoBERTa, BART, Qwen2, CodeGen, Whisper)."""
    vocab, merges = byte_level_vocab_and_merges(specials)
    vocab_file, merges_file = write_vocab_and_merges(vocab, merges, scratch / f"bpe-{cls.__name__}")
    return cls(vocab_file=vocab_file, merges_file=merges_file, **kwargs)


def byte_level_object_tokenizer(cls: type, specials: list[str], **kwargs: Any) -> Any:
    """A fast-only tokenizer class (BLOOM, GPT-NeoX, Falcon) around a byte-level BPE
    `tokenizers.Tokenizer`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab, merges = byte_level_vocab_and_merges(specials)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(specials)
    return cls(tokenizer_object=tokenizer, **kwargs)


def clip_tokenizer(scratch: Path) -> Any:
    """CLIPTokenizerFast converted from CLIP-format vocab/merges: lowercased words of letters,
    single digits or runs of other characters, as byte symbols whose last one ends in "</w>";
    the vocabulary is every byte alone and word-final, the merges, then the two specials."""
    import re

    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizerFast

    to_bytes = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    words: Counter[tuple[str, ...]] = Counter()
    for line in CORPUS:
        for word in re.findall(r"[a-z]+|[0-9]|[^\sa-z0-9]+", line.lower()):
            symbols = list(to_bytes.pre_tokenize_str(word)[0][0])
            words[tuple(symbols[:-1] + [symbols[-1] + "</w>"])] += 1
    merges = learn_merges(words, concat)
    alphabet = byte_alphabet()
    head = [*alphabet, *(symbol + "</w>" for symbol in alphabet)]
    vocab = merged_vocab(head, merges, concat)
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    vocab_file, merges_file = write_vocab_and_merges(vocab, merges, scratch / "bpe-clip")
    return CLIPTokenizerFast(vocab_file=vocab_file, merges_file=merges_file)


def wordpiece_join(a: str, b: str) -> str:
    """WordPiece symbols: a word's later pieces carry "##", which a merge keeps only in front."""
    return a + b.removeprefix("##")


def wordpiece_vocab_file(scratch: Path, specials: list[str]) -> str:
    """vocab.txt of a BERT-style WordPiece vocabulary (lowercased; "##" continuations):
    specials, single characters, "##" characters, then the merged pieces."""
    from tokenizers import pre_tokenizers

    pieces = corpus_pieces(pre_tokenizers.BertPreTokenizer(), lowercase=True)
    words = Counter({(piece[0], *("##" + c for c in piece[1:])): n for piece, n in pieces.items()})
    merges = learn_merges(words, wordpiece_join)
    characters = sorted(set("".join(pieces)))
    vocab = merged_vocab([*specials, *characters, *("##" + c for c in characters)], merges, wordpiece_join)
    path = scratch / "vocab.txt"
    path.write_text("".join(token + "\n" for token in vocab))
    return str(path)


BERT_SPECIALS: list[str] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece_tokenizer(cls: type, scratch: Path) -> Any:
    """A WordPiece fast tokenizer of `cls` (BERT, DistilBERT, ELECTRA) from vocab.txt."""
    return cls(vocab_file=wordpiece_vocab_file(scratch, BERT_SPECIALS))


def metaspace_bpe(specials: list[str], eos_after: Optional[str] = None) -> Any:
    """A SentencePiece-like BPE `tokenizers.Tokenizer` ("▁" starts a word) for the Llama /
    Mistral / Gemma / T5 fast tokenizers; eos_after appends that token (T5)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    pieces = corpus_pieces(pre_tokenizer)
    merges = learn_merges(Counter({tuple(piece): n for piece, n in pieces.items()}), concat)
    characters = sorted(set("".join(pieces)))
    unk = next(token for token in specials if "unk" in token)
    tokenizer = Tokenizer(models.BPE(vocab=merged_vocab([*specials, *characters], merges, concat), merges=merges,
                                     unk_token=unk, fuse_unk=True))
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    tokenizer.add_special_tokens(specials)
    if eos_after is not None:
        eos_id = tokenizer.token_to_id(eos_after)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"$A {eos_after}", pair=f"$A {eos_after} $B {eos_after}", special_tokens=[(eos_after, eos_id)])
    return tokenizer


def char_ctc_tokenizer(scratch: Path) -> Any:
    """Wav2Vec2CTCTokenizer over the corpus's upper-cased letters, "|" between words."""
    from transformers import Wav2Vec2CTCTokenizer

    letters = sorted(set("".join(CORPUS).upper()) - {" "})
    vocab = {token: i for i, token in enumerate(["<pad>", "<s>", "</s>", "<unk>", "|", *letters])}
    path = scratch / "ctc-vocab.json"
    path.write_text(json.dumps(vocab, ensure_ascii=False))
    return Wav2Vec2CTCTokenizer(str(path), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")


def vocab_size_for(tokenizer: Any) -> int:
    """The model's vocab_size: the tokenizer's full length rounded up to a multiple of 8."""
    return (len(tokenizer) + 7) // 8 * 8


def special_ids(tokenizer: Any) -> dict[str, Optional[int]]:
    """pad/bos/eos token ids of a tokenizer, as config keyword arguments."""
    return {"pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id}


# ---------------------------------------------------------------------------------------
# Models and their preprocessors
# ---------------------------------------------------------------------------------------

# Sizes shared by the text transformers: hidden 32, 2 layers, 4 heads.
HIDDEN, LAYERS, HEADS, FFN, POSITIONS = 32, 2, 4, 64, 128
IMAGE, SEG_IMAGE = 32, 64
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class Spec:
    """One repository of the cache."""

    repo_id: str
    architecture: str  # the transformers class, config.architectures[0]
    kind: str  # text / vision / audio / seq2seq / multimodal
    auto_class: str  # the Auto class that loads it from the repo id
    build: Callable[[Path], tuple[Any, Any]]  # scratch dir -> (config, preprocessor)
    weights: str = "safetensors"  # safetensors | sharded (model.safetensors.index.json) | bin


def text_sizes(**overrides: Any) -> dict[str, Any]:
    """Config keywords of a tiny Llama-family decoder."""
    sizes = dict(hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                 max_position_embeddings=POSITIONS)
    sizes.update(overrides)
    return sizes


def bert(scratch: Path) -> tuple[Any, Any]:
    from transformers import BertConfig, BertTokenizerFast

    tok = wordpiece_tokenizer(BertTokenizerFast, scratch)
    # 512 positions, as prajjwal1/bert-tiny has (this model is also laid out under that
    # name): the seed README pads a text to 256 tokens.
    cfg = BertConfig(vocab_size=vocab_size_for(tok), pad_token_id=tok.pad_token_id,
                     **text_sizes(max_position_embeddings=512))
    return cfg, tok


def roberta(scratch: Path) -> tuple[Any, Any]:
    from transformers import RobertaConfig, RobertaTokenizerFast

    tok = byte_level_files_tokenizer(RobertaTokenizerFast, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], scratch)
    # RoBERTa's positions start after padding_idx (pad_token_id + 1).
    cfg = RobertaConfig(vocab_size=vocab_size_for(tok), num_labels=3, type_vocab_size=1,
                        **special_ids(tok), **text_sizes(max_position_embeddings=POSITIONS + 2))
    return cfg, tok


def distilbert(scratch: Path) -> tuple[Any, Any]:
    from transformers import DistilBertConfig, DistilBertTokenizerFast

    tok = wordpiece_tokenizer(DistilBertTokenizerFast, scratch)
    cfg = DistilBertConfig(vocab_size=vocab_size_for(tok), dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                           hidden_dim=FFN, max_position_embeddings=POSITIONS, num_labels=5,
                           pad_token_id=tok.pad_token_id)
    return cfg, tok


def electra(scratch: Path) -> tuple[Any, Any]:
    from transformers import ElectraConfig, ElectraTokenizerFast

    tok = wordpiece_tokenizer(ElectraTokenizerFast, scratch)
    cfg = ElectraConfig(vocab_size=vocab_size_for(tok), embedding_size=16, pad_token_id=tok.pad_token_id,
                        **text_sizes())
    return cfg, tok


def modernbert(scratch: Path) -> tuple[Any, Any]:
    from transformers import BertTokenizerFast, ModernBertConfig, PreTrainedTokenizerFast

    # ModernBERT's hub tokenizers are plain PreTrainedTokenizerFast with BERT's special tokens.
    backend = wordpiece_tokenizer(BertTokenizerFast, scratch).backend_tokenizer
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", sep_token="[SEP]",
                                  pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                                  model_input_names=["input_ids", "attention_mask"])
    cfg = ModernBertConfig(vocab_size=vocab_size_for(tok), hidden_size=HIDDEN, intermediate_size=FFN,
                           num_hidden_layers=LAYERS, num_attention_heads=HEADS, max_position_embeddings=POSITIONS,
                           global_attn_every_n_layers=2, local_attention=8, pad_token_id=tok.pad_token_id,
                           bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                           cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id, reference_compile=False)
    return cfg, tok


def llama_tokenizer() -> Any:
    from transformers import LlamaTokenizerFast

    return LlamaTokenizerFast(tokenizer_object=metaspace_bpe(["<unk>", "<s>", "</s>"]), legacy=False,
                              add_bos_token=True, add_eos_token=False)


def llama(scratch: Path) -> tuple[Any, Any]:
    from transformers import LlamaConfig

    tok = llama_tokenizer()
    cfg = LlamaConfig(vocab_size=vocab_size_for(tok), num_key_value_heads=2, **special_ids(tok), **text_sizes())
    return cfg, tok


def mistral(scratch: Path) -> tuple[Any, Any]:
    from transformers import MistralConfig

    tok = llama_tokenizer()
    cfg = MistralConfig(vocab_size=vocab_size_for(tok), num_key_value_heads=2, sliding_window=64,
                        **special_ids(tok), **text_sizes())
    return cfg, tok


def qwen2(scratch: Path) -> tuple[Any, Any]:
    from transformers import Qwen2Config, Qwen2TokenizerFast

    tok = byte_level_files_tokenizer(Qwen2TokenizerFast, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], scratch)
    cfg = Qwen2Config(vocab_size=vocab_size_for(tok), num_key_value_heads=2, tie_word_embeddings=True,
                      **special_ids(tok), **text_sizes())
    return cfg, tok


def gemma(scratch: Path) -> tuple[Any, Any]:
    from transformers import GemmaConfig, GemmaTokenizerFast

    tok = GemmaTokenizerFast(tokenizer_object=metaspace_bpe(["<pad>", "<eos>", "<bos>", "<unk>"]))
    cfg = GemmaConfig(vocab_size=vocab_size_for(tok), num_key_value_heads=1, head_dim=8, **special_ids(tok),
                      **text_sizes())
    return cfg, tok


def phi(scratch: Path) -> tuple[Any, Any]:
    from transformers import CodeGenTokenizerFast, PhiConfig

    tok = byte_level_files_tokenizer(CodeGenTokenizerFast, ["<|endoftext|>"], scratch)
    cfg = PhiConfig(vocab_size=vocab_size_for(tok), partial_rotary_factor=0.5, **special_ids(tok), **text_sizes())
    return cfg, tok


def gpt2(scratch: Path) -> tuple[Any, Any]:
    from transformers import GPT2Config, GPT2TokenizerFast

    tok = byte_level_files_tokenizer(GPT2TokenizerFast, ["<|endoftext|>"], scratch)  # no pad token, as gpt2
    cfg = GPT2Config(vocab_size=vocab_size_for(tok), n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_inner=FFN,
                     n_positions=POSITIONS, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    return cfg, tok


def gpt_neox(scratch: Path) -> tuple[Any, Any]:
    from transformers import GPTNeoXConfig, GPTNeoXTokenizerFast

    tok = byte_level_object_tokenizer(GPTNeoXTokenizerFast, ["<|endoftext|>", "<|padding|>"],
                                      pad_token="<|padding|>")
    cfg = GPTNeoXConfig(vocab_size=vocab_size_for(tok), rotary_pct=0.25, **special_ids(tok), **text_sizes())
    return cfg, tok


def opt(scratch: Path) -> tuple[Any, Any]:
    from transformers import GPT2TokenizerFast, OPTConfig

    # facebook/opt-*: GPT-2's tokenizer class with </s> as bos/eos and <pad>.
    tok = byte_level_files_tokenizer(GPT2TokenizerFast, ["<s>", "<pad>", "</s>", "<unk>"], scratch,
                                     bos_token="</s>", eos_token="</s>", unk_token="</s>", pad_token="<pad>")
    cfg = OPTConfig(vocab_size=vocab_size_for(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS, ffn_dim=FFN,
                    num_attention_heads=HEADS, max_position_embeddings=POSITIONS, word_embed_proj_dim=HIDDEN,
                    **special_ids(tok))
    return cfg, tok


def bloom(scratch: Path) -> tuple[Any, Any]:
    from transformers import BloomConfig, BloomTokenizerFast

    tok = byte_level_object_tokenizer(BloomTokenizerFast, ["<unk>", "<s>", "</s>", "<pad>"])
    cfg = BloomConfig(vocab_size=vocab_size_for(tok), hidden_size=HIDDEN, n_layer=LAYERS, n_head=HEADS,
                      **special_ids(tok))
    return cfg, tok


def falcon(scratch: Path) -> tuple[Any, Any]:
    from transformers import FalconConfig, PreTrainedTokenizerFast

    tok = byte_level_object_tokenizer(PreTrainedTokenizerFast, ["<|endoftext|>"], eos_token="<|endoftext|>")
    cfg = FalconConfig(vocab_size=vocab_size_for(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                       num_attention_heads=HEADS, multi_query=True, parallel_attn=True, bias=False,
                       max_position_embeddings=POSITIONS, bos_token_id=tok.eos_token_id,
                       eos_token_id=tok.eos_token_id)
    return cfg, tok


def t5(scratch: Path) -> tuple[Any, Any]:
    from transformers import T5Config, T5TokenizerFast

    tok = T5TokenizerFast(tokenizer_object=metaspace_bpe(["<pad>", "</s>", "<unk>"], eos_after="</s>"), extra_ids=8)
    cfg = T5Config(vocab_size=vocab_size_for(tok), d_model=HIDDEN, d_kv=8, d_ff=FFN, num_layers=LAYERS,
                   num_heads=HEADS, relative_attention_num_buckets=8, relative_attention_max_distance=32,
                   pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                   decoder_start_token_id=tok.pad_token_id)
    return cfg, tok


def bart(scratch: Path) -> tuple[Any, Any]:
    from transformers import BartConfig, BartTokenizerFast

    tok = byte_level_files_tokenizer(BartTokenizerFast, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], scratch)
    cfg = BartConfig(vocab_size=vocab_size_for(tok), d_model=HIDDEN, encoder_layers=LAYERS, decoder_layers=LAYERS,
                     encoder_attention_heads=HEADS, decoder_attention_heads=HEADS, encoder_ffn_dim=FFN,
                     decoder_ffn_dim=FFN, max_position_embeddings=POSITIONS, forced_eos_token_id=tok.eos_token_id,
                     decoder_start_token_id=tok.eos_token_id, **special_ids(tok))
    return cfg, tok


WHISPER_SPECIALS: list[str] = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>",
                               "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                               "<|notimestamps|>"]


def whisper(scratch: Path) -> tuple[Any, Any]:
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizerFast

    tok = byte_level_files_tokenizer(WhisperTokenizerFast, WHISPER_SPECIALS, scratch)
    # 1-second chunks: 100 frames of 16 mel bins, which the encoder's two convolutions halve.
    features = WhisperFeatureExtractor(feature_size=16, sampling_rate=16000, hop_length=160, chunk_length=1,
                                       n_fft=400)
    start = tok.convert_tokens_to_ids("<|startoftranscript|>")
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    cfg = WhisperConfig(vocab_size=vocab_size_for(tok), num_mel_bins=16, d_model=HIDDEN, encoder_layers=LAYERS,
                        decoder_layers=LAYERS, encoder_attention_heads=HEADS, decoder_attention_heads=HEADS,
                        encoder_ffn_dim=FFN, decoder_ffn_dim=FFN, max_source_positions=50, max_target_positions=64,
                        pad_token_id=eos, bos_token_id=eos, eos_token_id=eos, decoder_start_token_id=start,
                        suppress_tokens=[], begin_suppress_tokens=[])
    return cfg, WhisperProcessor(feature_extractor=features, tokenizer=tok)


def vit_image_processor(size: int) -> Any:
    from transformers import ViTImageProcessor

    return ViTImageProcessor(size={"height": size, "width": size})


def vit(scratch: Path) -> tuple[Any, Any]:
    from transformers import ViTConfig

    cfg = ViTConfig(image_size=IMAGE, patch_size=8, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                    num_attention_heads=HEADS, intermediate_size=FFN, num_labels=3)
    return cfg, vit_image_processor(IMAGE)


def swin(scratch: Path) -> tuple[Any, Any]:
    from transformers import SwinConfig

    cfg = SwinConfig(image_size=IMAGE, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 4], window_size=4,
                     mlp_ratio=2.0)
    return cfg, vit_image_processor(IMAGE)


def convnext(scratch: Path) -> tuple[Any, Any]:
    from transformers import ConvNextConfig, ConvNextImageProcessor

    cfg = ConvNextConfig(num_channels=3, patch_size=4, num_stages=2, hidden_sizes=[16, 32], depths=[1, 1],
                         image_size=IMAGE, num_labels=5)
    return cfg, ConvNextImageProcessor(size={"shortest_edge": IMAGE}, crop_pct=0.875)


def segformer(scratch: Path) -> tuple[Any, Any]:
    from transformers import SegformerConfig, SegformerImageProcessor

    cfg = SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32],
                          patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2],
                          decoder_hidden_size=32, num_labels=4, image_size=SEG_IMAGE)
    return cfg, SegformerImageProcessor(size={"height": SEG_IMAGE, "width": SEG_IMAGE}, do_reduce_labels=False)


def dinov2(scratch: Path) -> tuple[Any, Any]:
    from transformers import BitImageProcessor, Dinov2Config

    cfg = Dinov2Config(image_size=IMAGE, patch_size=8, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                       num_attention_heads=HEADS, mlp_ratio=2)
    processor = BitImageProcessor(size={"shortest_edge": IMAGE}, crop_size={"height": IMAGE, "width": IMAGE},
                                  image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, do_convert_rgb=True)
    return cfg, processor


def wav2vec2(scratch: Path) -> tuple[Any, Any]:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Processor

    tok = char_ctc_tokenizer(scratch)
    # As wav2vec2-base: group norm in the feature encoder, no attention mask from the extractor.
    features = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                        return_attention_mask=False)
    cfg = Wav2Vec2Config(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                         num_attention_heads=HEADS, intermediate_size=FFN, conv_dim=(16, 16, 16),
                         conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=4, feat_extract_norm="group", pad_token_id=tok.pad_token_id,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, ctc_loss_reduction="mean")
    return cfg, Wav2Vec2Processor(feature_extractor=features, tokenizer=tok)


def clip(scratch: Path) -> tuple[Any, Any]:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPProcessor

    tok = clip_tokenizer(scratch)
    text = dict(vocab_size=vocab_size_for(tok), hidden_size=HIDDEN, intermediate_size=FFN,
                num_hidden_layers=LAYERS, num_attention_heads=HEADS, max_position_embeddings=32,
                pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    vision = dict(image_size=IMAGE, patch_size=8, hidden_size=HIDDEN, intermediate_size=FFN,
                  num_hidden_layers=LAYERS, num_attention_heads=HEADS)
    cfg = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    images = CLIPImageProcessor(size={"shortest_edge": IMAGE}, crop_size={"height": IMAGE, "width": IMAGE})
    return cfg, CLIPProcessor(image_processor=images, tokenizer=tok)


ORG = "modelexport-test"
SPECS: tuple[Spec, ...] = (
    Spec(f"{ORG}/tiny-bert", "BertModel", "text", "AutoModel", bert),
    Spec(f"{ORG}/tiny-roberta-seqcls", "RobertaForSequenceClassification", "text",
         "AutoModelForSequenceClassification", roberta),
    Spec(f"{ORG}/tiny-distilbert-tokcls", "DistilBertForTokenClassification", "text",
         "AutoModelForTokenClassification", distilbert),
    Spec(f"{ORG}/tiny-modernbert-mlm", "ModernBertForMaskedLM", "text", "AutoModelForMaskedLM", modernbert),
    Spec(f"{ORG}/tiny-electra-mlm", "ElectraForMaskedLM", "text", "AutoModelForMaskedLM", electra),
    Spec(f"{ORG}/tiny-llama", "LlamaForCausalLM", "text", "AutoModelForCausalLM", llama, weights="sharded"),
    Spec(f"{ORG}/tiny-mistral", "MistralForCausalLM", "text", "AutoModelForCausalLM", mistral),
    Spec(f"{ORG}/tiny-qwen2", "Qwen2ForCausalLM", "text", "AutoModelForCausalLM", qwen2),
    Spec(f"{ORG}/tiny-gemma", "GemmaForCausalLM", "text", "AutoModelForCausalLM", gemma),
    Spec(f"{ORG}/tiny-phi", "PhiForCausalLM", "text", "AutoModelForCausalLM", phi),
    Spec("tiny-gpt2", "GPT2LMHeadModel", "text", "AutoModelForCausalLM", gpt2),
    Spec(f"{ORG}/tiny-gpt-neox", "GPTNeoXForCausalLM", "text", "AutoModelForCausalLM", gpt_neox),
    Spec(f"{ORG}/tiny-opt", "OPTForCausalLM", "text", "AutoModelForCausalLM", opt, weights="bin"),
    Spec(f"{ORG}/tiny-bloom", "BloomForCausalLM", "text", "AutoModelForCausalLM", bloom),
    Spec(f"{ORG}/tiny-falcon", "FalconForCausalLM", "text", "AutoModelForCausalLM", falcon),
    Spec(f"{ORG}/tiny-t5", "T5ForConditionalGeneration", "seq2seq", "AutoModelForSeq2SeqLM", t5),
    Spec(f"{ORG}/tiny-bart", "BartForConditionalGeneration", "seq2seq", "AutoModelForSeq2SeqLM", bart),
    Spec(f"{ORG}/tiny-whisper", "WhisperForConditionalGeneration", "seq2seq", "AutoModelForSpeechSeq2Seq", whisper),
    Spec(f"{ORG}/tiny-vit", "ViTForImageClassification", "vision", "AutoModelForImageClassification", vit),
    Spec(f"{ORG}/tiny-swin", "SwinModel", "vision", "AutoModel", swin),
    Spec(f"{ORG}/tiny-convnext", "ConvNextForImageClassification", "vision", "AutoModelForImageClassification",
         convnext),
    Spec(f"{ORG}/tiny-segformer", "SegformerForSemanticSegmentation", "vision", "AutoModelForSemanticSegmentation",
         segformer),
    Spec(f"{ORG}/tiny-dinov2", "Dinov2Model", "vision", "AutoModel", dinov2),
    Spec(f"{ORG}/tiny-wav2vec2-ctc", "Wav2Vec2ForCTC", "audio", "AutoModelForCTC", wav2vec2),
    Spec(f"{ORG}/tiny-clip", "CLIPModel", "multimodal", "AutoModel", clip),
)


# ---------------------------------------------------------------------------------------
# Building one repository
# ---------------------------------------------------------------------------------------

def seed_of(repo_id: str) -> int:
    """A fixed per-repository seed, so adding a model leaves the others' weights alone."""
    return zlib.crc32(repo_id.encode())


def model_inputs(spec: Spec, model: Any, preprocessor: Any) -> list[str]:
    """The forward parameters the preprocessor fills (plus decoder_input_ids for seq2seq),
    in the order of the model's forward signature."""
    import numpy as np

    if spec.kind in ("text", "seq2seq") and hasattr(preprocessor, "model_input_names") and \
            not hasattr(preprocessor, "feature_extractor"):
        produced = set(preprocessor("hello world").keys())
    elif spec.kind == "multimodal":
        image = np.zeros((IMAGE, IMAGE, 3), dtype=np.uint8)
        produced = set(preprocessor(text=["hello world"], images=[image]).keys())
    elif spec.kind == "vision":
        produced = set(preprocessor(images=[np.zeros((IMAGE, IMAGE, 3), dtype=np.uint8)]).keys())
    else:  # audio, and Whisper's feature extractor
        extractor = getattr(preprocessor, "feature_extractor", preprocessor)
        produced = set(extractor(np.zeros(1600, dtype=np.float32), sampling_rate=16000).keys())
    if spec.kind == "seq2seq":
        produced.add("decoder_input_ids")
    return [name for name in inspect.signature(model.forward).parameters if name in produced]


def build_repo(spec: Spec, cache: Path) -> dict[str, Any]:
    """Build spec's model and preprocessor, save them and lay them into the cache; returns
    the manifest entry."""
    import torch
    import transformers

    with tempfile.TemporaryDirectory(prefix="make_hf_cache-") as tmp:
        scratch, files = Path(tmp) / "scratch", Path(tmp) / "files"
        scratch.mkdir()
        torch.manual_seed(seed_of(spec.repo_id))
        config, preprocessor = spec.build(scratch)
        config.architectures = [spec.architecture]
        model = getattr(transformers, spec.architecture)(config).eval()
        save: dict[str, Any] = {"safe_serialization": spec.weights != "bin"}
        if spec.weights == "sharded":
            save["max_shard_size"] = "100KB"
        model.save_pretrained(files, **save)
        preprocessor.save_pretrained(files)
        (files / ".gitattributes").write_text(GITATTRIBUTES)
        commit = lay_into_cache(files, cache, spec.repo_id)
        return {
            "architecture": spec.architecture,
            "kind": spec.kind,
            "auto_class": spec.auto_class,
            "preprocessor": type(preprocessor).__name__,
            "inputs": model_inputs(spec, model, preprocessor),
            "weights": spec.weights,
            "commit": commit,
            "files": sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file()),
        }


def select(only: Optional[str]) -> list[Spec]:
    """The specs named by --only (full repo ids or their NAME part), or all."""
    if not only:
        return list(SPECS)
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    by_name = {spec.repo_id: spec for spec in SPECS} | {spec.repo_id.split("/")[-1]: spec for spec in SPECS}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        sys.exit(f"make_hf_cache: unknown repo {', '.join(unknown)} (see --list)")
    return [by_name[name] for name in wanted]


def write_manifest(cache: Path, entries: dict[str, dict[str, Any]]) -> None:
    """manifest.json: the earlier entries (of repos not rebuilt now) plus the new ones."""
    path = cache / "manifest.json"
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    manifest.update(entries)
    path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", nargs="?", type=Path, help="the hub cache directory to write (HF_HUB_CACHE)")
    parser.add_argument("--only", help="comma-separated repo ids (or their NAME part) to build")
    parser.add_argument("--list", action="store_true", help="print the repo ids and their classes, build nothing")
    args = parser.parse_args(argv)
    if args.list:
        for spec in select(args.only):
            print(f"{spec.repo_id}\t{spec.architecture}\t{spec.kind}")
        return 0
    if args.cache is None:
        parser.error("OUT_CACHE_DIR is needed (or --list)")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    # Whisper's suppress_tokens go to its generation config, as on the hub; no need to say so.
    warnings.filterwarnings("ignore", message="Moving the following attributes in the config to the generation config")
    torch.set_num_threads(1)  # the same bytes on any machine, and the small models gain nothing from more
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    entries: dict[str, dict[str, Any]] = {}
    for spec in select(args.only):
        begun = time.monotonic()
        entries[spec.repo_id] = build_repo(spec, args.cache)
        print(f"{spec.repo_id}: {spec.architecture} ({time.monotonic() - begun:.1f}s)", flush=True)
    write_manifest(args.cache, entries)
    print(f"make_hf_cache: {len(entries)} repos in {args.cache} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
