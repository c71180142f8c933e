"""`studio train`, `studio evaluate` and `studio models`: training, scoring and listing models."""
from __future__ import annotations

import json
import signal
import sys

from ..errors import InvalidArgument


def register(sub) -> None:
    from ..training.config import BATCHINGS, OPTIMIZERS, PRESETS
    from ..nn.cells import CELL_NAMES

    p = sub.add_parser("train", help="train a model on an imported corpus (Ctrl-C stops with a checkpoint)",
                       description="Train an LSTM/GRU/RNN on a corpus into DIR (a model folder plus checkpoint and "
                       "metrics.jsonl). Under torchrun, trains with DistributedDataParallel.")
    p.add_argument("--corpus", metavar="NAME", help="corpus name (see `studio corpus list`) or folder")
    p.add_argument("--out", metavar="DIR", help="output folder for the model, checkpoint and metrics")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint (--steps, "
                   "--lr, --clip given with it change them from the next step on)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="starting settings (default: small)")
    p.add_argument("--cell", choices=sorted(CELL_NAMES))
    p.add_argument("--layers", type=int)
    p.add_argument("--units", type=int)
    p.add_argument("--embedding", type=int, help="embedding width; 0 feeds one-hot tokens")
    p.add_argument("--tie-weights", action="store_true", default=None, help="share embedding and output matrix")
    p.add_argument("--dropout", type=float)
    p.add_argument("--batching", choices=BATCHINGS, help="windows, whole tunes, or auto (tunes for folk)")
    p.add_argument("--batch", type=int, dest="batch_size", help="global batch size")
    p.add_argument("--seq-len", type=int, help="window length in tokens")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--clip", type=float, help="global gradient-norm clip (0: off)")
    p.add_argument("--warmup", type=int, dest="warmup_steps")
    p.add_argument("--decay", choices=("none", "cosine", "linear", "exponential"))
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--steps", type=int)
    steps.add_argument("--epochs", type=float)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--patience", type=int, help="early stopping after this many evaluations without improvement")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--no-amp", dest="amp", action="store_false", default=None, help="no mixed precision on CUDA")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    p.add_argument("--loader-workers", type=int, metavar="N",
                   help="worker processes that prepare batches ahead of the training loop (for GPUs; 0: none)")
    p.add_argument("--controls", action="store_true", default=None,
                   help="condition on the codec's controls (performance: note density and pitch-class histogram, "
                        "each hidden at random in training, so the model samples with or without them)")
    p.add_argument("--init-from", metavar="MODEL",
                   help="start from this model's weights (folder or installed name) instead of random ones: same cell "
                        "and layers; this corpus's vocabulary may extend its, and --units may be larger (the model "
                        "is widened without changing what it predicts)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="negative log-likelihood per token and perplexity of a model on a corpus")
    p.add_argument("--model", required=True, metavar="DIR", help="model folder or installed model name")
    p.add_argument("--corpus", required=True, metavar="NAME")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list installed models (shipped and yours) with their cards")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)


SETTINGS = ("cell", "layers", "units", "embedding", "tie_weights", "dropout", "batching", "batch_size", "seq_len",
            "lr", "optimizer", "clip", "warmup_steps", "decay", "steps", "epochs", "eval_every", "checkpoint_every",
            "patience", "seed", "device", "amp", "augment", "controls", "loader_workers", "init_from")


# What a resumed run may change: its length, where it runs, and (the usual cures for a plateau or a diverged
# run) the peak learning rate and the gradient clip; the schedule's shape and the model stay as they were.
RESUME_SETTINGS = ("steps", "epochs", "lr", "clip", "device", "loader_workers")
OPTION_OF = {"batch_size": "--batch", "warmup_steps": "--warmup", "amp": "--no-amp", "augment": "--no-augment"}


def cmd_train(args) -> int:
    from ..training import Trainer, make_config

    chosen = {k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None}
    if args.resume:
        fixed = [f"--{k.replace('_', '-')}" for k in ("corpus", "out", "preset") if getattr(args, k)]
        fixed += [OPTION_OF.get(k, f"--{k.replace('_', '-')}") for k in chosen if k not in RESUME_SETTINGS]
        if fixed:
            raise InvalidArgument(f"--resume DIR continues a run as it was ({', '.join(fixed)} cannot change); give "
                                  "only --steps/--epochs/--lr/--clip/--device/--loader-workers with it")
        trainer = Trainer.resume(args.resume, **{k: v for k, v in chosen.items() if k in RESUME_SETTINGS})
    else:
        if not args.corpus or not args.out:
            raise InvalidArgument("give --corpus NAME and --out DIR (or --resume DIR)")
        trainer = Trainer(args.out, make_config(args.preset or "small", corpus=args.corpus, **chosen))
    return run_with_progress_bar(trainer)


def run_with_progress_bar(trainer) -> int:
    """Drive a Trainer under a tqdm bar; the first Ctrl-C asks it to stop after the current step."""
    from tqdm import tqdm

    bar = None

    def on_event(event):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=event.total_steps, initial=event.step, unit="step", dynamic_ncols=True, file=sys.stderr)
        if event.kind == "step":
            bar.update(event.step - bar.n)
            post = {"loss": f"{event.loss:.3f}"}
            if event.val_loss is not None:
                post["val"] = f"{event.val_loss:.3f}"
            post["tok/s"] = f"{event.tokens_per_s:,.0f}"
            bar.set_postfix(post, refresh=False)
        elif event.kind == "start":
            bar.write(event.message)
        elif event.kind == "checkpoint":
            bar.set_description(f"checkpoint at {event.step}")

    def interrupt(signum, frame):
        trainer.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C aborts at once
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)

    trainer.on_event = on_event
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        result = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    if trainer.is_main:
        val = f", validation NLL {result.val_loss:.4f} nats/token" if result.val_loss is not None else ""
        loss = f"{result.loss:.4f}" if result.loss is not None else "n/a"
        print(f"{result.status} at step {result.step}: loss {loss}{val}; model in {result.directory}"
              + ("" if result.status == "finished" else f" (continue with: studio train --resume {result.directory})"))
    return 0


def cmd_evaluate(args) -> int:
    from ..nn import find_model, load_model
    from ..training import evaluate, pick_device
    from ..training.scoring import check_same_vocabulary
    from ..corpus.store import Corpus

    device = pick_device(args.device)
    model = load_model(find_model(args.model), device)
    corpus = Corpus.open(args.corpus)
    check_same_vocabulary(model.codec_config, corpus)
    result = evaluate(model, corpus, args.split, device)
    if args.json:
        print(json.dumps(result.to_dict() | {"model": str(args.model), "corpus": corpus.name}))
    else:
        print(f"{args.model} on {corpus.name} ({args.split}: {result.pieces} pieces, {result.tokens} tokens): "
              f"NLL {result.nll:.4f} nats/token, perplexity {result.perplexity:.3f}")
    return 0


def cmd_models(args) -> int:
    from ..nn import list_models

    models = list_models()
    if args.json:
        print(json.dumps([{"name": m.name, "path": str(m.path), "shipped": m.shipped, "card": m.card, "error": m.error}
                          for m in models]))
        return 0
    if not models:
        print("no models installed; train one with `studio train --corpus NAME --out DIR`")
    for m in models:
        print(describe_model(m))
    return 0


def describe_model(m) -> str:
    where = "shipped" if m.shipped else "yours"
    if m.card is None:
        return f"{m.name}  ({where}, {m.path})\n  unusable: {m.error}"
    a, t = m.card["architecture"], m.card.get("training", {})
    val = t.get("valid_nll_per_token")
    inputs = f"embedding {a['embedding']}" if a.get("embedding") else "one-hot input"
    lines = [
        f"{m.name}  ({where}, {m.path})",
        f"  model:     {a['layers']}x{a['units']} {a['cell'].upper()}, {inputs}, "
        f"{m.card.get('parameters', 0):,} parameters",
        f"  codec:     {m.card['codec']['codec']} ({len(m.card['codec']['vocab'])} tokens)",
    ]
    if t:
        lines.append(f"  data:      {t.get('corpus')}: {t.get('train_pieces')} pieces, {t.get('train_tokens')} tokens")
        lines.append(f"  training:  {t.get('steps')} steps ({t.get('epochs')} epochs), {t.get('wall_time_s')} s on "
                     f"{t.get('hardware')}")
        source = t.get("initialised_from")
        if source:  # the figures above are this stage's only: say what it started from
            nll = source.get("valid_nll_per_token")
            lines.append(f"  started:   from {source.get('model')} ({source.get('units')} units"
                         + (f", valid NLL {nll:.4f}" if nll is not None else "") + f"; {source.get('path')})")
        if val is not None:
            lines.append(f"  valid NLL: {val:.4f} nats/token")
    if m.card.get("description"):
        lines.append(f"  about:     {m.card['description']}")
    if m.card.get("licence"):
        lines.append(f"  licence:   {m.card['licence']}")
    return "\n".join(lines)
