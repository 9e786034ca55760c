"""The one trainer: every task trains here, on HF accelerate (single process or torchrun DDP).

Each step updates the task's phases in order. Gradients of a phase are accumulated over
``grad_accum`` micro-batches and then averaged across processes with one flattened all-reduce,
which keeps multi-phase (GAN) steps correct without per-module DDP wrappers.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm import tqdm

from audiogen import config as cfg
from audiogen.data.dataset import AudioDataset, StepBatchSampler, collate
from audiogen.tasks.base import Task
from audiogen.train import checkpoint
from audiogen.train.ema import EMA
from audiogen.train.logging import MetricsLog, TensorBoardLog
from audiogen.train.options import DataOptions, OptimizerOptions, TrainerOptions


class Trainer:
    """Fits a :class:`Task` with the given options, writing everything under ``exp_dir``."""

    def __init__(self, task: Task, data: DataOptions, optimizer: OptimizerOptions,
                 options: TrainerOptions, exp_dir: str | Path, config: dict) -> None:
        self.task, self.data, self.optim, self.options = task, data, optimizer, options
        self.exp_dir, self.config = Path(exp_dir), config
        self.degradation = (cfg.instantiate(data.degrade, where="data.degrade")
                            if data.degrade else None)
        if options.num_threads:
            torch.set_num_threads(options.num_threads)
        self.accelerator = Accelerator(cpu=options.device == "cpu",
                                       mixed_precision=options.mixed_precision)
        self.device = self.accelerator.device
        self.task.to(self.device)
        self.phases = task.phases()
        self.optimizers = {name: self._make_optimizer(name, module)
                           for name, module in self.phases.items()}
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, self._lr_factor)
                           for name, opt in self.optimizers.items()}
        fp16 = options.mixed_precision == "fp16" and self.device.type == "cuda"
        self.scalers = {name: torch.amp.GradScaler("cuda", enabled=fp16) for name in self.phases}
        self.ema = EMA(task, options.ema_decay) if options.ema_decay else None
        self.step = 0

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def _make_optimizer(self, phase: str, module: torch.nn.Module) -> torch.optim.Optimizer:
        lr = self.optim.phase_lr.get(phase, self.optim.lr)
        params = [p for p in module.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=lr, betas=tuple(self.optim.betas),  # type: ignore
                                 weight_decay=self.optim.weight_decay)

    def _lr_factor(self, step: int) -> float:
        warmup = self.optim.warmup_steps
        if warmup and step < warmup:
            return (step + 1) / warmup
        if self.optim.schedule == "cosine":
            span = max(self.options.max_steps - warmup, 1)
            progress = min((step - warmup) / span, 1.0)
            floor = self.optim.min_lr_ratio
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.optim.schedule == "exponential":
            return max(self.optim.decay_per_step ** (step - warmup), self.optim.min_lr_ratio)
        return 1.0

    # ----------------------------------------------------------------- resume and save
    def resume(self) -> bool:
        """Restore the newest checkpoint of the experiment, if any; returns whether it did."""
        found = checkpoint.latest(self.exp_dir / "checkpoints")
        if found is None:
            return False
        checkpoint.check_compatible(found, self.task.spec)
        self.task.load_state_dict(checkpoint.load_weights(found, prefer_ema=False))
        state = checkpoint.load_state(found)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
            self.schedulers[name].load_state_dict(state["schedulers"][name])
            self.scalers[name].load_state_dict(state["scalers"][name])
        if self.ema is not None:
            self.ema.resume(checkpoint.load_weights(found, prefer_ema=True), int(state["step"]))
        torch.set_rng_state(state["rng"]["torch"][self.accelerator.process_index % len(
            state["rng"]["torch"])])
        self.step = int(state["step"])
        return True

    def save(self) -> None:
        """Write a checkpoint (main process) with every rank's RNG state."""
        rng = self.accelerator.gather(torch.get_rng_state().to(self.device)[None]).cpu()
        if not self.is_main:
            return
        state = {"step": self.step,
                 "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                 "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                 "scalers": {n: s.state_dict() for n, s in self.scalers.items()},
                 "rng": {"torch": [row.to(torch.uint8) for row in rng]}}
        checkpoint.save(self.exp_dir / "checkpoints", self.step, self.config, self.task.spec,
                        self.task.state_dict(), self.ema.state_dict() if self.ema else None,
                        state, keep_last=self.options.keep_last)

    # ----------------------------------------------------------------- data
    def _train_batches(self) -> Iterator[dict[str, Any]]:
        dataset = AudioDataset(self.data.train, self.task.sample_rate, self.data.segment_seconds,
                               degradation=self.degradation, speakers=self.data.speakers)
        sampler = StepBatchSampler(len(dataset), self.data.batch_size, self.options.seed,
                                   start_batch=self.step * self.options.grad_accum,
                                   rank=self.accelerator.process_index,
                                   world_size=self.accelerator.num_processes)
        loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate,
                            num_workers=self.data.num_workers,
                            persistent_workers=self.data.num_workers > 0)
        for batch in loader:
            yield {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _valid_batches(self) -> list[dict[str, Any]]:
        if not self.data.valid:
            return []
        dataset = AudioDataset(self.data.valid, self.task.sample_rate,
                               max_items=self.data.valid_items, degradation=self.degradation,
                               speakers=self.data.speakers)
        return [{k: v.to(self.device) if torch.is_tensor(v) else v
                 for k, v in collate([dataset[i]]).items()} for i in range(len(dataset))]

    # ----------------------------------------------------------------- the loop
    def fit(self) -> dict[str, float]:
        """Train until ``max_steps`` or ``max_minutes``; returns the last logged losses."""
        self.resume()
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        metrics = MetricsLog(self.exp_dir / "metrics.jsonl", self.is_main, truncate_after=self.step)
        board = TensorBoardLog(self.exp_dir / "tensorboard", self.is_main)
        valid = self._valid_batches() if self.is_main else []
        batches = self._train_batches()
        start, start_step = time.monotonic(), self.step
        validated = saved = -1  # the steps last validated and saved in this run
        bar = tqdm(total=self.options.max_steps, initial=self.step, dynamic_ncols=True,
                   disable=not (self.is_main and self.options.progress), desc="train")
        last: dict[str, float] = {}
        while self.step < self.options.max_steps and not self._out_of_time(start):
            micro = [next(batches) for _ in range(self.options.grad_accum)]
            logs = self._train_step(micro)
            self.step += 1
            bar.update(1)
            if self.step % self.options.log_every == 0 or self.step == self.options.max_steps:
                last = self._reduce(logs)
                row = {"step": self.step, **last, "lr": self.schedulers[next(iter(
                    self.phases))].get_last_lr()[0], "elapsed_s": time.monotonic() - start}
                metrics.write(row)
                board.scalars("train", last, self.step)
                postfix = {k: f"{v:.3g}" for k, v in last.items() if k.endswith("/loss")}
                if self.options.max_minutes is not None:
                    left = self.options.max_minutes - (time.monotonic() - start) / 60
                    postfix["min_left"] = f"{max(left, 0.0):.1f}"
                bar.set_postfix(postfix)
            if self.data.valid and self.step % self.options.valid_every == 0:
                self._validate(valid, board, metrics)
                validated = self.step
            if self.step % self.options.save_every == 0:
                self.save()
                saved = self.step
        bar.close()
        if saved != self.step and (self.step != start_step
                                   or checkpoint.latest(self.exp_dir / "checkpoints") is None):
            self.save()
        if self.data.valid and validated != self.step:  # the final step's, once
            self._validate(valid, board, metrics)
        board.close()
        self.accelerator.wait_for_everyone()
        return last

    def _train_step(self, micro: list[dict[str, Any]]) -> dict[str, float]:
        logs: dict[str, float] = {}
        self.task.train()
        for phase, module in self.phases.items():
            optimizer, scaler = self.optimizers[phase], self.scalers[phase]
            optimizer.zero_grad(set_to_none=True)
            for batch in micro:
                with self.accelerator.autocast():
                    losses = self.task.losses(batch, phase, self.step)
                if losses["loss"].requires_grad:
                    scaler.scale(losses["loss"] / len(micro)).backward()
                for name, value in losses.items():
                    key = f"{phase}/{name}"
                    logs[key] = logs.get(key, 0.0) + float(value.detach()) / len(micro)
            self._average_gradients(module)
            scaler.unscale_(optimizer)
            if self.options.clip_grad_norm:
                norm = torch.nn.utils.clip_grad_norm_(module.parameters(),
                                                      self.options.clip_grad_norm)
                logs[f"{phase}/grad_norm"] = float(norm)
            scaler.step(optimizer)
            scaler.update()
            self.schedulers[phase].step()
        if self.ema is not None:
            self.ema.update(self.task)
        return logs

    def _average_gradients(self, module: torch.nn.Module) -> None:
        """Average gradients over processes with one all-reduce of a flat buffer."""
        if self.accelerator.num_processes == 1:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.accelerator.num_processes
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    def _reduce(self, logs: dict[str, float]) -> dict[str, float]:
        """Mean of logged values over processes (same keys on every rank)."""
        if self.accelerator.num_processes == 1:
            return logs
        keys = sorted(logs)
        values = torch.tensor([logs[k] for k in keys], device=self.device, dtype=torch.float64)
        values = self.accelerator.reduce(values, reduction="mean")
        return dict(zip(keys, values.tolist()))

    def _out_of_time(self, start: float) -> bool:
        """All ranks agree on the wall-clock budget (the main process decides)."""
        if self.options.max_minutes is None:
            return False
        over = torch.tensor([float(time.monotonic() - start > 60 * self.options.max_minutes)],
                            device=self.device)
        if self.accelerator.num_processes > 1:
            torch.distributed.broadcast(over, src=0)
        return bool(over.item())

    def _validate(self, batches: list[dict[str, Any]], board: TensorBoardLog,
                  metrics: MetricsLog) -> None:
        """Run the task's validation on the main process; log means, audio and spectrograms."""
        if self.is_main:
            self.task.eval()
            totals: dict[str, float] = {}
            for index, batch in enumerate(batches):
                with self.accelerator.autocast():
                    result = self.task.validate(batch)
                for name, value in result.items():
                    if isinstance(value, float):
                        totals[name] = totals.get(name, 0.0) + value / len(batches)
                if index < 2 and "audio" in result:
                    board.audio(f"valid/{index}", result["audio"], self.task.sample_rate,
                                self.step, reference=batch["audio"])
            board.scalars("valid", totals, self.step)
            metrics.write({"step": self.step, **{f"valid/{k}": v for k, v in totals.items()}})
            self.task.train()
        self.accelerator.wait_for_everyone()
