"""The training loop: one class a CLI, a GUI worker thread or a torchrun process can drive.

    trainer = Trainer(out_dir, config, on_event=print)     # or Trainer.resume(out_dir)
    result = trainer.run()                                  # blocks; call trainer.stop() from elsewhere

The output folder is a model folder (weights.safetensors + model.json, holding the best weights so far)
plus `checkpoint.safetensors` (everything needed to continue exactly), `metrics.jsonl` (one line per
logged step) and nothing else. Under torchrun (WORLD_SIZE > 1) the model is wrapped in
DistributedDataParallel, each rank reads its own rows of every global batch, and only rank 0 writes.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..atomic import write_text
from ..corpus.loader import PrefetchedBatches, TuneBatches, WindowBatches, split_pieces
from ..errors import InvalidArgument, StudioError, UnreadableFile
from ..nn.folder import hardware, library_versions, save_model, weights_of
from ..nn.model import ModelConfig, SequenceModel
from .checkpoint import (CHECKPOINT, model_weights, optimizer_from_tensors, read_checkpoint, restore_rng,
                         save_checkpoint)
from .config import TrainConfig, learning_rate
from .scoring import check_same_vocabulary, evaluate
from .warm_start import initialise_from

METRICS = "metrics.jsonl"


class TrainingDiverged(StudioError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""

    def __init__(self, directory: Path, step: int, last_good: int | None):
        kept = (f"the last good checkpoint (step {last_good}) is kept; resume with a lower --lr or --clip"
                if last_good is not None else "no checkpoint had been written yet; start again with a lower --lr")
        super().__init__(directory, f"step {step}", f"training diverged (loss is not a finite number); {kept}")


@dataclass
class TrainEvent:
    """What the trainer tells its caller (from the training thread, rank 0 only).

    kind: start (message), step (every optimizer step: loss, val_loss = the latest, tokens_per_s, lr,
    eta_s), eval (a validation pass: val_loss), checkpoint (path), paused, resumed, diverged (then run()
    raises TrainingDiverged), done (message = finished | stopped | early-stopped).
    """

    kind: str
    step: int
    total_steps: int
    loss: float | None = None
    val_loss: float | None = None
    tokens_per_s: float | None = None
    lr: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    path: str | None = None
    message: str = ""


@dataclass
class TrainResult:
    status: str  # finished, stopped, early-stopped
    step: int
    loss: float | None
    val_loss: float | None
    directory: Path
    extra: dict = field(default_factory=dict)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument("--device cuda: no CUDA GPU is available to PyTorch here")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InvalidArgument("--device mps: Apple MPS is not available here")
    if name not in ("cpu", "cuda", "mps"):
        raise InvalidArgument(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)


class Trainer:
    """Trains a SequenceModel on a corpus into `out_dir`; see the module docstring."""

    def __init__(self, out_dir: str | Path, config: TrainConfig, corpus=None,
                 on_event: Callable[[TrainEvent], None] | None = None):
        self.out_dir = Path(out_dir)
        self.config = config
        if corpus is None:
            from ..corpus.store import Corpus

            corpus = Corpus.open(config.corpus)
        self.corpus = corpus
        if not config.corpus:
            config.corpus = str(corpus.path)
        self.on_event = on_event or (lambda event: None)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._resume_from: tuple[dict, dict] | None = None

    @classmethod
    def resume(cls, out_dir: str | Path, corpus=None, on_event=None, **overrides) -> "Trainer":
        """Continue a run from its last checkpoint; overrides (e.g. steps=...) may extend it."""
        if Path(out_dir).is_dir() and not (Path(out_dir) / CHECKPOINT).exists():
            raise UnreadableFile(Path(out_dir) / CHECKPOINT, None, "no checkpoint here: the run stopped before its first "
                                 "checkpoint, so there is nothing to continue; start "
                                 f"it again with `studio train --corpus NAME --out {out_dir}`")
        tensors, meta = read_checkpoint(Path(out_dir) / CHECKPOINT)
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if "steps" in overrides and "epochs" not in overrides:
            overrides["epochs"] = 0.0  # a step count given now replaces the epochs the run started with
        config = TrainConfig.from_dict({**meta["config"], **overrides})
        trainer = cls(out_dir, config, corpus, on_event)
        trainer._resume_from = (tensors, meta)
        return trainer

    # ---------------------------------------------------------------- control, from any thread
    def stop(self) -> None:
        """Finish the current optimizer step, write a checkpoint and return from run()."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def unpause(self) -> None:
        self._running.set()

    # ---------------------------------------------------------------- the loop
    def run(self) -> TrainResult:
        c = self.config
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = pick_device(c.device)
        if device.type == "cuda" and self.world > 1:
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        owns_group = self.world > 1 and not dist.is_initialized()
        if owns_group:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        self.device = device
        self.is_main = self.rank == 0

        codec = self.corpus.codec
        torch.manual_seed(c.seed)
        if c.controls and codec.controls is None:
            raise InvalidArgument(f"--controls: the {codec.name} codec has no conditioning controls")
        control_size = codec.controls.size if c.controls else 0
        self.model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, control_size=control_size,
                                               **c.model_fields())).to(device)
        self.optimizer = self._make_optimizer()
        batching = c.batching if c.batching != "auto" else codec.batching
        shard = {"seed": c.seed, "rank": self.rank, "world_size": self.world, "augment": c.augment}
        if batching == "tunes" and c.controls:
            raise InvalidArgument("--controls needs window batching (--batching windows)")
        if batching == "tunes":
            self.batches = TuneBatches(self.corpus, "train", c.batch_size, max_len=c.max_tune_len, **shard)
        else:
            self.batches = WindowBatches(self.corpus, "train", c.seq_len, c.batch_size, controls=c.controls, **shard)
        self.batching = batching
        self.total_steps = math.ceil(c.epochs * len(self.batches)) if c.epochs > 0 else c.steps
        self.has_valid = len(split_pieces(self.corpus, "valid")) > 0
        use_amp = c.amp and device.type == "cuda"
        self.amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if use_amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

        self.step, self.elapsed_before, self.tokens_seen = 0, 0.0, 0
        self.best_val, self.best_step, self.bad_evals, self.last_checkpoint = math.inf, None, 0, None
        self.last_loss, self.last_val = None, None
        self.initialised_from = None
        if self._resume_from is not None:
            self._restore(*self._resume_from)
        elif (self.out_dir / CHECKPOINT).exists():  # every rank checks, so all of them stop
            raise InvalidArgument(f"{self.out_dir} already holds a training run; continue it with --resume "
                                  f"{self.out_dir} or choose another output folder")
        else:
            if c.init_from:  # checked before anything is written
                self.initialised_from = initialise_from(self.model, codec.config, c.init_from)
            if self.is_main:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                (self.out_dir / METRICS).unlink(missing_ok=True)
        net = self.model
        if self.world > 1:
            net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.net = net
        # worker processes compute the next batches while the model steps (a GPU would otherwise wait on them)
        self.feed = PrefetchedBatches(self.batches, self.corpus.path, c.loader_workers) if c.loader_workers else self.batches
        try:
            result = self._loop()
            if owns_group:  # ranks leave together: gloo aborts a rank whose peer tears down mid-exchange
                dist.barrier()
            return result
        finally:
            if self.feed is not self.batches:
                self.feed.close()
            if owns_group:
                dist.destroy_process_group()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, self.model.parameters()
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        if c.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    def _emit(self, kind: str, **fields) -> None:
        if self.is_main:
            self.on_event(TrainEvent(kind, self.step, self.total_steps, elapsed_s=self._elapsed(), **fields))

    def _elapsed(self) -> float:
        """Training seconds, including the runs this one resumes."""
        return self.elapsed_before + time.perf_counter() - self.t0

    def _loop(self) -> TrainResult:
        c = self.config
        self.t0 = time.perf_counter()
        start_step, last_checkpoint_time = self.step, self.t0
        window_t, window_tokens = self.t0, 0
        status = "finished"
        self._emit("start", message=f"training {self.model.parameter_count:,} parameters on {self.device}")
        self.model.train()
        while self.step < self.total_steps:
            if not self._running.is_set() and not self._stop.is_set():
                self._emit("paused")
                self._running.wait()
                self._emit("resumed")
            if self._agree(self._stop.is_set()):
                status = "stopped"
                break
            lr = learning_rate(c, self.step, self.total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            loss, tokens = self._train_step(self.feed.batch(self.step))
            self.step += 1
            self.tokens_seen += tokens
            window_tokens += tokens
            self.last_loss = loss
            now = time.perf_counter()
            rate = window_tokens / max(now - window_t, 1e-9)
            done_here = self.step - start_step
            eta = (now - self.t0) / done_here * (self.total_steps - self.step)
            val = None
            if self.has_valid and (self.step % c.eval_every == 0 or self.step == self.total_steps):
                val = self._validate()
            if self.step % c.log_every == 0 or val is not None or self.step == self.total_steps:
                self._log_metrics(loss, val, rate, lr)
                window_t, window_tokens = now, 0
            self._emit("step", loss=loss, val_loss=self.last_val, tokens_per_s=rate, lr=lr, eta_s=eta)
            if val is not None:
                self._emit("eval", loss=loss, val_loss=val, lr=lr)
                if c.patience and self.bad_evals >= c.patience:
                    status = "early-stopped"
                    break
            if self.step % c.checkpoint_every == 0 or now - last_checkpoint_time > 60 * c.checkpoint_minutes:
                self._checkpoint()
                last_checkpoint_time = time.perf_counter()
        self._checkpoint()
        if not self.has_valid or self.best_step is None:  # else the folder holds the best validated weights
            self._save_model()
        self._emit("done", loss=self.last_loss, val_loss=self.last_val, message=status)
        return TrainResult(status, self.step, self.last_loss, self.last_val, self.out_dir,
                           {"best_val": self.best_val if self.best_step is not None else None,
                            "best_step": self.best_step})

    def _agree(self, flag: bool) -> bool:
        """Under DDP every rank must take the same branch: true if any rank says so."""
        if self.world == 1:
            return flag
        t = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def _train_step(self, batch) -> tuple[float, int]:
        c, dev = self.config, self.device
        inputs = torch.from_numpy(batch.inputs).to(dev, non_blocking=True)
        targets = torch.from_numpy(batch.targets).to(dev, non_blocking=True)
        mask = torch.from_numpy(batch.mask).to(dev, non_blocking=True)
        controls = None if batch.controls is None else torch.from_numpy(batch.controls).to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            logits, _ = self.net(inputs, None, controls)
        ce = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")
        count = mask.sum()
        if self.world > 1:  # mean per real token over the GLOBAL batch, whatever each rank holds
            count = count.float()
            dist.all_reduce(count)
            loss = (ce * mask).sum() / count * self.world
            value = loss.detach() / self.world  # this rank's share of the global mean: summed, the mean
            dist.all_reduce(value)  # so every rank sees the same (non-)finite value
            value = float(value)
        else:
            loss = (ce * mask).sum() / count
            value = float(loss.detach())
        tokens = int(count)
        if not math.isfinite(value):
            self._emit("diverged", loss=value)
            raise TrainingDiverged(self.out_dir, self.step + 1, self.last_checkpoint)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if c.clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return value, tokens

    def _validate(self) -> float:
        result = evaluate(self.model, self.corpus, "valid", self.device, max_pieces=self.config.eval_pieces,
                          chunk=self.config.seq_len)
        self.last_val = result.nll
        if result.nll < self.best_val:
            self.best_val, self.best_step, self.bad_evals = result.nll, self.step, 0
            if self.last_checkpoint is None:  # weights in the folder always come with a checkpoint to resume
                self._checkpoint()
            self._save_model()
        else:
            self.bad_evals += 1
        return result.nll

    # ---------------------------------------------------------------- files (rank 0 only)
    def _log_metrics(self, loss, val, rate, lr) -> None:
        if not self.is_main:
            return
        row = {"step": self.step, "loss": loss, "tokens_per_s": round(rate, 1), "lr": lr,
               "elapsed_s": round(self._elapsed(), 3)}
        if val is not None:
            row["val_loss"] = val
        with open(self.out_dir / METRICS, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def _state(self) -> dict:
        return {"step": self.step, "total_steps": self.total_steps, "config": self.config.to_dict(),
                "elapsed_s": self._elapsed(), "tokens_seen": self.tokens_seen,
                "best_val": self.best_val if self.best_step is not None else None, "best_step": self.best_step,
                "bad_evals": self.bad_evals, "last_loss": self.last_loss, "last_val": self.last_val,
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "codec": self.corpus.codec.config, "initialised_from": self.initialised_from}

    def _checkpoint(self) -> None:
        if self.is_main:
            path = self.out_dir / CHECKPOINT
            save_checkpoint(path, weights_of(self.model), self.optimizer, self._state())
            self.last_checkpoint = self.step
            self._emit("checkpoint", path=str(path), loss=self.last_loss, val_loss=self.last_val)

    def _restore(self, tensors: dict, meta: dict) -> None:
        check_same_vocabulary(meta["codec"], self.corpus)
        self.model.load_state_dict(model_weights(tensors), strict=not self.config.tie_weights)
        optimizer_from_tensors(self.optimizer, tensors, meta["optimizer"])
        restore_rng(tensors)
        self.step = self.last_checkpoint = meta["step"]
        self.elapsed_before, self.tokens_seen = meta["elapsed_s"], meta["tokens_seen"]
        self.best_step, self.bad_evals = meta["best_step"], meta["bad_evals"]
        self.best_val = meta["best_val"] if meta["best_val"] is not None else math.inf
        self.last_loss, self.last_val = meta["last_loss"], meta["last_val"]
        self.initialised_from = meta.get("initialised_from")
        if meta.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(meta["scaler"])
        if self.is_main:
            self._truncate_metrics()

    def _truncate_metrics(self) -> None:
        """Drop metric lines written after the checkpoint (a killed run logged steps that will be redone)."""
        path = self.out_dir / METRICS
        if path.exists():
            keep = [line for line in path.read_text(encoding="utf-8").splitlines() if _logged_step(line) <= self.step]
            write_text(path, "".join(line + "\n" for line in keep))

    def _save_model(self) -> None:
        if not self.is_main:
            return
        c, corpus = self.config, self.corpus
        card = {
            "name": self.out_dir.name,
            "training": {
                "corpus": corpus.name, "corpus_sources": list(corpus.sources),
                "train_pieces": len(self.batches.rows), "train_tokens": int(self.batches.lengths.sum()),
                "batching": self.batching, "steps": self.step,
                "epochs": round(self.step / len(self.batches), 3), "tokens_seen": self.tokens_seen,
                "train_loss": self.last_loss, "valid_nll_per_token": self.last_val,
                "valid_perplexity": math.exp(self.last_val) if self.last_val is not None else None,
                "wall_time_s": round(self._elapsed(), 1),
                "hardware": hardware(self.device), "processes": self.world,
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "settings": c.to_dict(),
                **({"initialised_from": self.initialised_from} if self.initialised_from else {}),
            },
            "libraries": library_versions(),
        }
        save_model(self.model, self.out_dir, corpus.codec.config, card)


def _logged_step(line: str) -> float:
    """The step of a metrics line; a line cut short by a kill counts as after any checkpoint."""
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf
