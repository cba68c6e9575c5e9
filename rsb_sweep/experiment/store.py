"""Trial folders: where each trial's config, history, metrics, checkpoints and errors live.

The trainer's own files are the ground truth for a trial's state:

* ``metrics.json``  written by the trainer when the last epoch is done   -> TERMINATED
* ``error.json``    written by the driver when a trial fails for good    -> ERROR
* ``runs.jsonl``    one line each time a process starts (or resumes) it  -> RUNNING
* nothing of these                                                        -> PENDING

``evaluations/<key>.json`` (and ``<key>.parquet``, its per-image predictions) hold each
evaluation of the final checkpoint at another setting, one file per (set, crop_pct, test_res)
(:mod:`rsb_sweep.experiment.evaluations`); a file with an ``error`` key records a failed evaluation.

The store root is a local folder (the default, or a shared file system) or a URI
(``s3://…``, ``gs://…``, ``file://…``) reached through pyarrow's file systems, as Ray's
storage is. With a local root the trainer writes straight into the trial folder; with a
URI it writes to a local scratch folder that :meth:`TrialStore.push` mirrors after every
epoch, and :meth:`TrialStore.pull` brings the newest checkpoint back before a resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import pyarrow.fs as pafs

from analysis.contract import ERROR, PENDING, RUNNING, TERMINATED
from rsb_sweep.spec.paths import is_uri
from trainer.checkpoint import (CHECKPOINTS_DIR, CONFIG_FILE, HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, STATE_FILE,
                                checkpoint_epoch, checkpoint_name, find_checkpoint, list_checkpoints)
from trainer.files import atomic_write_bytes

#: Files the trainer writes into its run folder (their one home: trainer.checkpoint).
CONFIG, HISTORY, METRICS, PREDICTIONS = CONFIG_FILE, HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE
#: Files the sweep adds to a trial folder.
ERROR_FILE, RUNS, LOG = "error.json", "runs.jsonl", "train.log"
#: The folder of a trial's evaluations at other settings (train once, evaluate many).
EVALUATIONS_DIR = "evaluations"
_SMALL_FILES = (CONFIG, HISTORY, METRICS, PREDICTIONS, LOG)


@dataclass(kw_only=True)
class TrialFiles:
    """What one trial folder says about its trial."""

    trial_id: str
    metrics: Optional[dict[str, Any]] = None
    error: Optional[dict[str, Any]] = None
    history: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_epochs: list[int] = field(default_factory=list)
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)  # file stem -> its JSON

    @property
    def status(self) -> str:
        if self.metrics is not None:
            return TERMINATED
        if self.error is not None:
            return ERROR
        if self.runs or self.history:
            return RUNNING
        return PENDING

    @property
    def epochs_done(self) -> int:
        if self.metrics is not None:
            return int(self.metrics.get("epochs_done", len(self.history)))
        return len(self.history)


class TrialStore:
    """The folder (or URI) holding one folder per trial."""

    def __init__(self, root: str):
        self.root = str(root)
        self.remote = is_uri(self.root)
        if self.remote:
            self.fs, self.base = pafs.FileSystem.from_uri(self.root)
        else:
            self.fs, self.base = pafs.LocalFileSystem(), str(Path(self.root).expanduser().resolve())
        self.base = self.base.rstrip("/")

    # -- locations ---------------------------------------------------------------------
    def path(self, trial_id: str, *parts: str) -> str:
        """The store path (file-system path, without scheme) of a trial file."""
        return "/".join((self.base, trial_id) + parts)

    def local_dir(self, trial_id: str) -> Path:
        """Where the trainer writes this trial: the trial folder itself, or a scratch copy."""
        if not self.remote:
            return Path(self.base) / trial_id
        key = hashlib.sha1(self.root.encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / "rsb-sweep-scratch" / key / trial_id

    # -- reading -----------------------------------------------------------------------
    def read(self, trial_id: str) -> TrialFiles:
        """Everything the trial folder says (missing files are simply absent)."""
        out = TrialFiles(trial_id=trial_id)
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(trial_id), allow_not_found=True))
        names = {Path(i.path).name for i in infos}
        if METRICS in names:
            out.metrics = self._json(self.path(trial_id, METRICS))
        if ERROR_FILE in names:
            out.error = self._json(self.path(trial_id, ERROR_FILE))
        if HISTORY in names:
            out.history = self._jsonl(self.path(trial_id, HISTORY))
        if RUNS in names:
            out.runs = self._jsonl(self.path(trial_id, RUNS))
        if CHECKPOINTS_DIR in names:
            out.checkpoint_epochs = self.checkpoint_epochs(trial_id)
        if EVALUATIONS_DIR in names:
            out.evaluations = self.read_evaluations(trial_id)
        return out

    def read_evaluations(self, trial_id: str) -> dict[str, dict[str, Any]]:
        """The trial's evaluation records, by file stem (torn or partial files are absent)."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(trial_id, EVALUATIONS_DIR), allow_not_found=True))
        out = {}
        for info in infos:
            if info.type == pafs.FileType.File and info.path.endswith(".json"):
                doc = self._json(info.path)
                if doc is not None:
                    out[Path(info.path).stem] = doc
        return out

    def read_history(self, trial_id: str) -> list[dict[str, Any]]:
        """The trial's ``history.jsonl`` rows (one per epoch done; none when it has not started)."""
        return self._jsonl(self.path(trial_id, HISTORY))

    def read_all(self, trial_ids: Iterable[str]) -> dict[str, TrialFiles]:
        return {t: self.read(t) for t in trial_ids}

    def checkpoint_epochs(self, trial_id: str) -> list[int]:
        """Epochs of the complete checkpoints in the trial folder, oldest first."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(trial_id, CHECKPOINTS_DIR), allow_not_found=True))
        epochs = []
        for info in infos:
            epoch = checkpoint_epoch(info.path)
            if epoch is not None and info.type == pafs.FileType.Directory:
                state = self.fs.get_file_info(f"{info.path}/{STATE_FILE}")
                if state.type == pafs.FileType.File:
                    epochs.append(epoch)
        return sorted(epochs)

    def read_bytes(self, path: str) -> Optional[bytes]:
        """The bytes of a store path (from :meth:`path`), or None when it cannot be read."""
        try:
            with self.fs.open_input_stream(path) as fh:
                return fh.read()
        except (FileNotFoundError, OSError):
            return None

    def _json(self, path: str) -> Optional[dict[str, Any]]:
        data = self.read_bytes(path)
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:  # a partial write of a non-atomic writer; treat as absent
            return None

    def _jsonl(self, path: str) -> list[dict[str, Any]]:
        data = self.read_bytes(path) or b""
        rows = []
        for line in data.decode().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:  # a torn last line from a killed process
                break
        return rows

    # -- writing (driver and trials) ----------------------------------------------------
    def write_json(self, trial_id: str, name: str, value: dict[str, Any]) -> None:
        """Write a small JSON file atomically (rename locally; object stores are atomic per object)."""
        self.write_file(trial_id, name, json.dumps(value, indent=2, default=str).encode())

    def write_file(self, trial_id: str, name: str, data: bytes) -> None:
        """Write ``data`` to the trial file ``name`` (may contain ``/``) atomically."""
        target = self.path(trial_id, name)
        if self.remote:
            self.fs.create_dir(target.rsplit("/", 1)[0])
            with self.fs.open_output_stream(target) as fh:
                fh.write(data)
            return
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)

    def delete(self, trial_id: str, name: str) -> None:
        try:
            self.fs.delete_file(self.path(trial_id, name))
        except (FileNotFoundError, OSError):
            pass

    def record_run(self, trial_id: str, record: dict[str, Any]) -> None:
        """Append one line to ``runs.jsonl``: a process started or resumed this trial."""
        line = json.dumps({"time": time.time(), **record}, default=str) + "\n"
        if self.remote:
            old = self.read_bytes(self.path(trial_id, RUNS)) or b""
            self.fs.create_dir(self.path(trial_id))
            with self.fs.open_output_stream(self.path(trial_id, RUNS)) as fh:
                fh.write(old + line.encode())
            return
        folder = Path(self.base) / trial_id
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / RUNS, "a") as fh:
            fh.write(line)

    def record_error(self, trial_id: str, message: str, kind: str, **extra: Any) -> None:
        """Mark the trial failed for good, with its error text."""
        self.write_json(trial_id, ERROR_FILE, {"error": message, "type": kind, "time": time.time(), **extra})

    # -- remote mirroring ---------------------------------------------------------------
    def push(self, trial_id: str, local: Path) -> None:
        """Mirror the trainer's small files and newest checkpoint to the store (URI roots only)."""
        if not self.remote:
            return
        self.fs.create_dir(self.path(trial_id, CHECKPOINTS_DIR))
        for name in _SMALL_FILES:
            src = local / name
            if src.is_file():
                with self.fs.open_output_stream(self.path(trial_id, name)) as fh:
                    fh.write(src.read_bytes())
        local_ckpts = [p.name for p in list_checkpoints(local / CHECKPOINTS_DIR)]
        remote = {checkpoint_name(e) for e in self.checkpoint_epochs(trial_id)}
        if local_ckpts and local_ckpts[-1] not in remote:
            newest = local_ckpts[-1]
            dest = self.path(trial_id, CHECKPOINTS_DIR, newest)
            self.fs.create_dir(dest)
            # state.pt last-in-place: readers look for it to decide the checkpoint is complete
            pafs.copy_files(str(local / CHECKPOINTS_DIR / newest / STATE_FILE), f"{dest}/{STATE_FILE}",
                            source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs)
            remote.add(newest)
        for name in sorted(remote - set(local_ckpts[-1:])):
            self.fs.delete_dir_contents(self.path(trial_id, CHECKPOINTS_DIR, name), missing_dir_ok=True)
            self.fs.delete_dir(self.path(trial_id, CHECKPOINTS_DIR, name))

    def pull(self, trial_id: str, local: Path) -> None:
        """Bring the store's newest checkpoint into the scratch folder if it is newer (URI roots only)."""
        if not self.remote:
            return
        epochs = self.checkpoint_epochs(trial_id)
        if not epochs:
            return
        found = find_checkpoint(local)
        if found is not None and (checkpoint_epoch(found) or 0) >= epochs[-1]:
            return
        name = checkpoint_name(epochs[-1])
        dest = local / CHECKPOINTS_DIR / name
        dest.mkdir(parents=True, exist_ok=True)
        part = dest / f"{STATE_FILE}.part"
        pafs.copy_files(self.path(trial_id, CHECKPOINTS_DIR, name, STATE_FILE), str(part),
                        source_filesystem=self.fs, destination_filesystem=pafs.LocalFileSystem())
        os.replace(part, dest / STATE_FILE)
