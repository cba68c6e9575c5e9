"""The TensorBoard tracker: ``DIR/tensorboard/<trial_id>/events.out.tfevents…``, one run per trial
(:mod:`rsb_sweep.driver.trackers`), written with the ``tensorboard`` package's own event-file writer
and protos. Not tensorboardX, nor torch's SummaryWriter: both import torch, seconds the driver (which
never needs torch) would pay at every command. A run starts with its hparams (the values that vary,
the seeds, the trial id) and a text card of them; then one scalar per metric and epoch (step = epoch).
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

from rsb_sweep.driver.trackers import TENSORBOARD, TrialInfo, scalars

EVENTS_GLOB = "events.out.tfevents.*"


class TensorBoardTracker:
    """One TensorBoard run per trial under ``root``; its hparams and text card written once, when it starts."""

    name = TENSORBOARD

    def __init__(self, root: Path):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: F401  (fails at start)

        self.root = Path(root)
        self.writers: dict[str, Any] = {}

    def logged_step(self, trial: TrialInfo) -> int:
        return max((step for step, _, _ in read_scalars(self.root / trial.trial_id)), default=0)

    def _writer(self, trial: TrialInfo) -> Any:
        if trial.trial_id not in self.writers:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter

            folder = self.root / trial.trial_id
            fresh = not any(folder.glob(EVENTS_GLOB))
            writer = EventFileWriter(str(folder), flush_secs=5)  # its file name has the pid and a counter
            if fresh:
                for summary in (*hparams_summaries(trial.tags, ["top1"]), text_summary("trial", trial.tags)):
                    writer.add_event(_event(summary, 0))
            self.writers[trial.trial_id] = writer
        return self.writers[trial.trial_id]

    def log(self, trial: TrialInfo, rows: list[dict[str, Any]]) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        writer = self._writer(trial)
        for row in rows:
            values = [Summary.Value(tag=k, simple_value=v) for k, v in scalars(row).items()]
            writer.add_event(_event(Summary(value=values), int(row["epoch"])))
        writer.flush()

    def finish(self, trial_id: str, status: str) -> None:
        writer = self.writers.pop(trial_id, None)
        if writer is not None:
            writer.close()

    def close(self) -> None:
        for trial_id in list(self.writers):
            self.finish(trial_id, "")


def _event(summary: Any, step: int) -> Any:
    from tensorboard.compat.proto.event_pb2 import Event

    return Event(wall_time=time.time(), step=step, summary=summary)


def hparams_summaries(values: dict[str, Any], metrics: list[str]) -> list[Any]:
    """The hparams plugin's experiment and session-start summaries for one run (what its HPARAMS tab shows)."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    start = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for key, value in values.items():
        if isinstance(value, bool):
            start.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[key].number_value = float(value)
        else:
            start.hparams[key].string_value = str(value)
    experiment = api_pb2.Experiment(hparam_infos=[api_pb2.HParamInfo(name=k) for k in values],
                                    metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=m)) for m in metrics])
    out = []
    for tag, data in (("_hparams_/experiment", plugin_data_pb2.HParamsPluginData(experiment=experiment)),
                      ("_hparams_/session_start_info", plugin_data_pb2.HParamsPluginData(session_start_info=start))):
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams",
                                                                     content=data.SerializeToString()))
        out.append(Summary(value=[Summary.Value(tag=tag, metadata=meta)]))
    return out


def text_summary(tag: str, values: dict[str, Any]) -> Any:
    """A markdown table of ``values`` for the TEXT tab."""
    from tensorboard.compat.proto import types_pb2
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

    text = "| field | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in values.items())
    tensor = TensorProto(dtype=types_pb2.DT_STRING, string_val=[text.encode()],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    return Summary(value=[Summary.Value(tag=f"{tag}/text_summary", metadata=meta, tensor=tensor)])


def read_scalars(folder: Path) -> list[tuple[int, str, float]]:
    """(step, tag, value) of every scalar in a TensorBoard run folder's event files (a torn last record,
    from a killed writer, is left out): what the run already holds."""
    from tensorboard.compat.proto.event_pb2 import Event

    out = []
    for path in sorted(Path(folder).glob(EVENTS_GLOB)):
        data, pos = path.read_bytes(), 0
        while pos + 12 <= len(data):  # TFRecord: length (8), its CRC (4), the record, its CRC (4)
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            end = pos + 12 + length + 4
            if end > len(data):
                break
            event = Event.FromString(data[pos + 12:pos + 12 + length])
            pos = end
            out.extend((int(event.step), v.tag, float(v.simple_value))
                       for v in event.summary.value if v.HasField("simple_value"))
    return out
