"""A tiny CLIP text encoder and tokenizer, built at test time, that complete a tiny SD x4 upscaler folder.

The real Stable Diffusion x4 upscaler folder holds ``text_encoder/`` (transformers' CLIPTextModel) and
``tokenizer/`` (CLIPTokenizer: byte-level BPE, ``vocab.json`` + ``merges.txt``) beside the diffusers
parts. These are the same classes with a vocabulary of a few dozen tokens and a 16-wide, two-layer
encoder (random weights), written with ``save_pretrained`` and listed in ``model_index.json`` the way
diffusers writes that pipeline, so the loader meets the real layout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from vidrestore.restore.diffusion.tiny import TINY_CROSS_DIM

WORDS = ("a", "clean", "sharp", "film", "frame", "old", "photo", "blur", "noise", "dust", "scratch", "grain",
         "low", "quality", "high", "detail")


def _vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    """Single characters (plain and word-final), whole words as BPE merges of their letters, specials."""
    letters = sorted({c for w in WORDS for c in w} | set("abcdefghijklmnopqrstuvwxyz,.!"))
    tokens = ["!"] + [c for c in letters if c != "!"] + [c + "</w>" for c in letters]
    merges: list[str] = []
    for word in WORDS:  # merge left to right: "c l", "cl e", ... up to the word-final token
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            tokens.append(pieces[0])
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab: dict[str, int] = {}
    for t in tokens:
        vocab.setdefault(t, len(vocab))
    return vocab, list(dict.fromkeys(merges))


def add_text_encoder(folder: Path, *, seed: int = 0) -> Path:
    """Write ``text_encoder/`` and ``tokenizer/`` into a tiny upscale folder and list them in its index."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab, merges = _vocab_and_merges()
    raw = folder / "_tokenizer_files"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (raw / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tok = CLIPTokenizer(str(raw / "vocab.json"), str(raw / "merges.txt"), model_max_length=77,
                        pad_token="<|endoftext|>")
    tok.save_pretrained(str(folder / "tokenizer"))
    shutil.rmtree(raw)
    torch.manual_seed(seed)
    cfg = CLIPTextConfig(vocab_size=len(vocab), hidden_size=TINY_CROSS_DIM, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                         pad_token_id=vocab["<|endoftext|>"])
    CLIPTextModel(cfg).eval().save_pretrained(str(folder / "text_encoder"))
    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["text_encoder"] = ["transformers", "CLIPTextModel"]
    index["tokenizer"] = ["transformers", "CLIPTokenizer"]
    index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return folder
