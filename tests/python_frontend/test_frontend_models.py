#!/usr/bin/env python3
"""Tests of python -m modelexport.frontend on tiny offline models beyond test_frontend.py's
text ones: T5 (decoder inputs), Whisper (speech to text), Wav2Vec2 (audio) and CLIP (text
and image). A process of its own, so it runs beside test_frontend.py.

    .venv/bin/python tests/python_frontend/test_frontend_models.py [NAME_SUBSTRING ...]
"""

from __future__ import annotations

from support import check, export, inputs_by_name, load_program, main, module_roots, test


@test
def test_clip_text_and_image() -> None:
    archive, program, inputs = export("clip")
    check([i["name"] for i in inputs["inputs"]] == ["input_ids", "pixel_values", "attention_mask"], f"{inputs['inputs']}")
    check("tokenizer" in program["source"]["inputs_from"] and "CLIPImageProcessor" in program["source"]["inputs_from"],
          program["source"]["inputs_from"])
    # Texts and images come in batches of their own sizes.
    check(program["dynamic_axes"] == {"input_ids": {"0": "text_batch_size", "1": "sequence_length"},
                                      "pixel_values": {"0": "image_batch_size"},
                                      "attention_mask": {"0": "text_batch_size", "1": "sequence_length"}},
          f"{program['dynamic_axes']}")
    check(program["output_names"][:4] == ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"]
          and "vision_model_output.pooler_output" in program["output_names"], f"{program['output_names']}")
    import torch

    ep = torch.export.load(archive)  # ModelOutputs saved as dicts: loads without transformers' types
    check(module_roots(ep) == {":CLIPModel"}, f"{module_roots(ep)}")


@test
def test_t5_decoder_inputs() -> None:
    archive, program, inputs = export("t5")
    by = inputs_by_name(inputs)
    check([i["name"] for i in inputs["inputs"]] == ["input_ids", "attention_mask", "decoder_input_ids"], f"{list(by)}")
    check(by["decoder_input_ids"]["values"][0] == 0 and by["decoder_input_ids"]["shape"] == [1, 4], f"{by['decoder_input_ids']}")
    check(program["dynamic_axes"]["decoder_input_ids"] == {"0": "batch_size", "1": "decoder_sequence_length"}, f"{program['dynamic_axes']}")
    check(program["output_names"] == ["logits", "encoder_last_hidden_state"], f"{program['output_names']}")
    check(module_roots(load_program(archive)) == {":T5ForConditionalGeneration"}, "root frame")


@test
def test_whisper_speech_to_text() -> None:
    archive, program, inputs = export("whisper", "--input-text", "the lazy dog")
    by = inputs_by_name(inputs)
    check([i["name"] for i in inputs["inputs"]] == ["input_features", "decoder_input_ids"], f"{list(by)}")
    check(by["input_features"]["shape"] == [1, 16, 100], f"{by['input_features']['shape']}")
    ids = by["decoder_input_ids"]["values"]
    check(ids[0] == 1 and len(set(ids[1:])) > 1, f"start token, then the text's tokens: {ids}")
    # Whisper pins the feature frames; batch and decoder length stay dynamic.
    check(program["dynamic_axes"] == {"input_features": {"0": "batch_size"},
                                      "decoder_input_ids": {"0": "batch_size", "1": "decoder_sequence_length"}},
          f"{program['dynamic_axes']}")
    ep = load_program(archive)
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    check("aten.diff.default" not in targets, "no packed-sequence detection in the decoder's mask")
    check(module_roots(ep) == {":WhisperForConditionalGeneration"}, "root frame")


@test
def test_wav2vec2_audio() -> None:
    archive, program, inputs = export("wav2vec2")
    by = inputs_by_name(inputs)
    check(by["input_values"]["shape"] == [1, 16000] and by["input_values"]["dtype"] == "float32", f"{by['input_values']['shape']}")
    axes = {"0": "batch_size", "1": "sequence_length"}
    check(program["dynamic_axes"]["input_values"] == axes, f"{program['dynamic_axes']}")
    check(program["source"]["task"] == "automatic-speech-recognition", f"{program['source']}")
    # The positional convolution's weight_norm is folded into its weight at load.
    ep = load_program(archive)
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    classes = {str(c) for n in ep.graph.nodes for _, c in (n.meta.get("nn_module_stack") or {}).values()}
    check("aten._weight_norm.default" not in targets and not [c for c in classes if "Parametriz" in c], f"{classes}")


if __name__ == "__main__":
    main()
