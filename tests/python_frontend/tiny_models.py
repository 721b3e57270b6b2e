"""Tiny Hugging Face models with random weights and offline-built preprocessors, saved
with save_pretrained into a directory, for the front end's tests.

    python tiny_models.py OUT_DIR [NAME ...]     writes OUT_DIR/NAME for each (default: all)

No network: tokenizers are trained here with the `tokenizers` library on a few lines;
image processors and feature extractors are built from their defaults."""

from __future__ import annotations

import json
import os
import sys
from typing import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS = [
    "Hello world",
    "the quick brown fox jumps over the lazy dog",
    "a tiny model for the export tests of modelexport",
    "hello again, world! it is a test.",
]


def _bpe_tokenizer(directory: str, cls_name: str = "PreTrainedTokenizerFast", vocab_size: int = 300, **special: str) -> int:
    """A byte-level BPE tokenizer trained on CORPUS, saved to `directory`; returns its size."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = list(dict.fromkeys(special.values()))
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    wrapped = getattr(transformers, cls_name)(tokenizer_object=tok, **special)
    wrapped.save_pretrained(directory)
    return tok.get_vocab_size()


def _wordpiece_vocab(directory: str) -> int:
    """A BERT vocab.txt of the corpus' words; BertTokenizerFast built from it."""
    from transformers import BertTokenizerFast

    words = sorted({w.strip(",.!").lower() for line in CORPUS for w in line.split()} | {",", ".", "!"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=os.path.join(directory, "vocab.txt")).save_pretrained(directory)
    return len(vocab)


def bert(directory: str) -> None:
    from transformers import BertConfig, BertModel

    n = _wordpiece_vocab(directory)
    config = BertConfig(
        vocab_size=n, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, max_position_embeddings=64
    )
    BertModel(config).save_pretrained(directory)


def gpt2(directory: str) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    n = _bpe_tokenizer(directory, "GPT2TokenizerFast", eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    config = GPT2Config(vocab_size=n, n_embd=32, n_layer=2, n_head=2, n_positions=64, bos_token_id=0, eos_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(directory)


def llama(directory: str) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    n = _bpe_tokenizer(directory, eos_token="</s>", bos_token="<s>", unk_token="<unk>")
    config = LlamaConfig(
        vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, bos_token_id=1, eos_token_id=0,
    )
    LlamaForCausalLM(config).save_pretrained(directory)


def t5(directory: str) -> None:
    from transformers import T5Config, T5ForConditionalGeneration

    n = _bpe_tokenizer(directory, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = T5Config(
        vocab_size=n, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )
    T5ForConditionalGeneration(config).save_pretrained(directory)


def vit(directory: str) -> None:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, num_labels=3
    )
    ViTForImageClassification(config).save_pretrained(directory)
    # ViTImageProcessor needs Pillow to be built; its settings are plain JSON.
    settings = {
        "image_processor_type": "ViTImageProcessor", "do_resize": True, "size": {"height": 32, "width": 32},
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2,
    }
    with open(os.path.join(directory, "preprocessor_config.json"), "w") as f:
        json.dump(settings, f, indent=1)


def wav2vec2(directory: str) -> None:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    config = Wav2Vec2Config(
        vocab_size=12, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_feat_extract_layers=2,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, do_stable_layer_norm=True, feat_extract_norm="layer",
    )
    Wav2Vec2ForCTC(config).save_pretrained(directory)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=True).save_pretrained(directory)


def whisper(directory: str) -> None:
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    n = _bpe_tokenizer(directory, eos_token="<|endoftext|>", pad_token="<|endoftext|>", bos_token="<|startoftranscript|>")
    config = WhisperConfig(
        vocab_size=n, num_mel_bins=16, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=37, decoder_ffn_dim=37, max_source_positions=50,
        max_target_positions=32, decoder_start_token_id=1, pad_token_id=0, eos_token_id=0, bos_token_id=1,
        begin_suppress_tokens=None, suppress_tokens=None,
    )
    WhisperForConditionalGeneration(config).save_pretrained(directory)
    # 16 mel bins, 100 frames (1 s of hop 160 at 16 kHz): the encoder's 2x stride gives 50 positions.
    WhisperFeatureExtractor(feature_size=16, sampling_rate=16000, chunk_length=1, n_fft=400, hop_length=160).save_pretrained(directory)


def clip(directory: str) -> None:
    from transformers import CLIPConfig, CLIPModel

    n = _bpe_tokenizer(directory, eos_token="</s>", bos_token="<s>", pad_token="<pad>")
    text = dict(vocab_size=n, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=32, bos_token_id=1, eos_token_id=0, pad_token_id=2)
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(directory)
    settings = {
        "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": 32},
        "do_center_crop": True, "crop_size": {"height": 32, "width": 32}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True, "resample": 3,
    }
    with open(os.path.join(directory, "preprocessor_config.json"), "w") as f:
        json.dump(settings, f, indent=1)


MODELS: dict[str, Callable[[str], None]] = {
    "bert": bert, "gpt2": gpt2, "llama": llama, "t5": t5, "vit": vit, "wav2vec2": wav2vec2, "whisper": whisper, "clip": clip,
}


def make(name: str, out_dir: str) -> str:
    """Write model `name` under out_dir (seeded) and return its directory."""
    import torch

    torch.manual_seed(0)
    directory = os.path.join(out_dir, name)
    os.makedirs(directory, exist_ok=True)
    MODELS[name](directory)
    return directory


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for model in sys.argv[2:] or list(MODELS):
        print(make(model, sys.argv[1]))
