"""``rsb-sweep paper``: every study of the paper under one parent folder, each (configuration, seed)
trained once. Runs in the driver process.

Layout::

    PARENT/paper-plan.json        the studies of this run (what marks PARENT for ``resume``)
    PARENT/models/                an experiment folder: the union of the studies' trainings
    PARENT/<study>/               an experiment folder per table or figure (``report`` works on it),
    PARENT/<study>/trials/<id>    … whose trial folders are links to PARENT/models/trials/<id>
    PARENT/paper.json, paper.html the index (:mod:`rsb_sweep.experiment.paper_index`)

Why links: a trial's state is its folder's files (:mod:`rsb_sweep.experiment.store`); a study
folder whose trial folders are the models' folders sees each training as its own, finished or not,
so its tables, ``evaluate``, ``status`` and ``report`` work unchanged, and no training runs twice.
Studies never train: :func:`run_paper` trains ``models`` (one Ray session for everything), then
writes each study's tables and runs its evaluations (records land in the shared trial folder, keyed
by setting, so Table 9's crop ratios and Figure 4's resolutions of one model never collide), then
makes each study's report (again only when what it was made from changed) and the index.

A transfer study (Table 5, ``transfer_of``) is no links folder but a transfer experiment
(:mod:`rsb_sweep.driver.transfer`) whose source is its source study's folder: after the trainings
and the other studies' evaluations, in the same Ray session, it runs the fine-tunings whose model
has finished (:func:`transfer_row`); ``resume PARENT`` plans and runs those whose model finished since.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from rich.console import Console

from analysis.contract import ERROR, PENDING, RUNNING
from rsb_sweep.driver.evaluate import run_evaluations
from rsb_sweep.driver.options import LaunchOptions
from rsb_sweep.driver.paper_plan import PaperPlan, StudyPlan
from rsb_sweep.driver.raysession import CommandRay
from rsb_sweep.driver.sweep import SweepOutcome, run_experiment
from rsb_sweep.errors import SweepError, one_line
from rsb_sweep.experiment.folder import MANIFEST, DriverLock, Experiment
from rsb_sweep.experiment.paper_index import (MODELS_DIR, PLAN_FILE, REPORT_HTML, REPORT_JSON, IndexRow,
                                              beside_paper_summary, counts_line, read_index, write_index)
from rsb_sweep.experiment.tables import write_tables
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.model import SweepSpec
from trainer.files import atomic_write_bytes

#: Where a study's report failure is saved, traceback and all (its index row names it).
REPORT_ERROR = "report-error.txt"


@dataclass(frozen=True, kw_only=True)
class PaperOutcome:
    """What ``paper`` (or ``resume PARENT``) did: the trainings, a row per study, the index files."""

    models: SweepOutcome
    rows: tuple[IndexRow, ...]
    index: tuple[Path, Path]
    wall_seconds: float


def create_paper(parent: Path, plan: PaperPlan, execution: Execution, log: tuple[str, ...] = ()) -> None:
    """Write the parent folder: the models' manifest, each study's manifest and trial links, the plan.

    Refuses (nothing written) a parent that already holds a paper run or any of these folders.
    """
    parent = Path(parent).resolve()
    taken = [p for p in [parent / PLAN_FILE, parent / MANIFEST, parent / MODELS_DIR / MANIFEST,
                         *(parent / s.study.key / MANIFEST for s in plan.studies)] if p.exists()]
    if taken:
        raise SweepError(f"{parent} already holds {taken[0].relative_to(parent)}; continue it with "
                         f"`rsb-sweep resume {parent}` or choose another folder")
    data = plan.studies[0].spec.data if plan.studies else None
    models_spec = SweepSpec(name="paper-models", data=data, description="the paper's trainings, each once",
                            source=f"the union of {', '.join(s.study.key for s in plan.studies)}")
    models = Experiment.create(parent / MODELS_DIR, models_spec, execution, list(plan.models), extra={"log": list(log)})
    for sp in plan.studies:
        if sp.transfer is not None:  # Table 5: fine-tunings of its source study's trials (created before it)
            create_transfer(parent, sp, execution, log)
            continue
        exp = Experiment.create(parent / sp.study.key, sp.spec, execution, list(sp.trials),
                                extra={"log": list(log), "paper": {"models": f"../{MODELS_DIR}", "links": dict(sp.links)}})
        trials = exp.root / "trials"
        trials.mkdir(parents=True, exist_ok=True)
        for tid, uid in sp.links.items():
            (models.root / "trials" / uid).mkdir(parents=True, exist_ok=True)
            os.symlink(Path("..", "..", MODELS_DIR, "trials", uid), trials / tid, target_is_directory=True)
    doc = {"format": 1, "created": time.time(), "models": MODELS_DIR,
           "studies": [{"key": s.study.key, "title": s.study.title, "sweep_file": s.study.sweep_file,
                        "seeds": s.spec.seeds.n, "trials": len(s.trials), "new_trainings": s.new,
                        "evaluation_only": s.study.evaluation_only, "transfer_of": s.study.transfer_of}
                       for s in plan.studies]}
    atomic_write_bytes(parent / PLAN_FILE, json.dumps(doc, indent=1).encode())


def read_plan(parent: Path) -> dict[str, Any]:
    """The parent's ``paper-plan.json`` (a usage error when it is not a paper run)."""
    path = Path(parent) / PLAN_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SweepError(f"{parent} is not a paper run: cannot read {PLAN_FILE} ({exc})") from None


def run_paper(parent: Path, options: LaunchOptions, console: Console, on_dispatch: Callable[[], None],
              make_report: Callable[[Path], Any]) -> PaperOutcome:
    """Train what the models lack, then each study's tables, evaluations and report, then the index.

    One Ray session for the trainings and every evaluation; reports after it is shut down. An
    interrupt leaves every table and the index current before it propagates. ``make_report``
    (``analysis.make_report``, passed in by the CLI: the driver does not reach the report layer)
    makes a study's report.json/html from its folder.
    """
    start = time.time()
    parent = Path(parent).resolve()
    plan = read_plan(parent)
    say = (lambda line: None) if options.quiet else (lambda line: console.print(line, markup=False, highlight=False))
    with DriverLock(parent):  # one driver per paper run: a second `resume PARENT` is refused, the index untouched
        models = Experiment.open(parent / plan["models"])
        studies = [(s, Experiment.open(parent / s["key"])) for s in plan["studies"]]
        trained, rows, index = _run_parts(parent, models, studies, options, console, say, on_dispatch, make_report)
    return PaperOutcome(models=trained, rows=rows, index=index, wall_seconds=time.time() - start)


def _run_parts(parent: Path, models: Experiment, studies: list[tuple[dict[str, Any], Experiment]], options: LaunchOptions,
               console: Console, say: Callable[[str], None], on_dispatch: Callable[[], None],
               make_report: Callable[[Path], Any]) -> tuple[SweepOutcome, tuple[IndexRow, ...], tuple[Path, Path]]:
    """The trainings, each study's tables, evaluations and report, the index (written whatever happens)."""
    previous = read_index(parent)
    rows: dict[str, IndexRow] = {}
    try:
        with CommandRay(options.address, options.dashboard, options.num_cpus, say) as ray:
            say(f"[models] {len(models.trials)} distinct (configuration, seed) trainings for "
                f"{', '.join(s['key'] for s, _ in studies if not s.get('transfer_of'))}")
            trained = run_experiment(models, options, console=console, on_dispatch=on_dispatch, ray=ray)
            say(f"[models] {counts_line(trained.counts)} ({trained.wall_seconds:.0f} s)")
            for doc, exp in studies:
                if not doc.get("transfer_of"):
                    rows[doc["key"]] = study_row(parent, doc, exp, options, say, on_dispatch, ray)
            for doc, exp in studies:  # after every training and evaluation: the fine-tunings of finished models
                if doc.get("transfer_of"):
                    rows[doc["key"]] = transfer_row(parent, doc, exp, options, console, say, on_dispatch, ray)
        for doc, exp in studies:
            rows[doc["key"]] = with_report(parent, rows[doc["key"]], previous.get(doc["key"]), say, make_report)
    finally:  # also on Ctrl-C or a crash: every row known so far, the others unfinished
        ordered = tuple(rows.get(d["key"]) or unfinished_row(d) for d, _ in studies)
        index = write_index(parent, ordered, {"trainings": len(models.trials), "trials": _files_counts(models)})
    return trained, ordered, index


def study_row(parent: Path, doc: dict[str, Any], exp: Experiment, options: LaunchOptions,
              say: Callable[[str], None], on_dispatch: Callable[[], None], ray: Optional[CommandRay]) -> IndexRow:
    """One study's tables and its missing evaluations (on ``ray``); its row, the report not yet made."""
    with exp.lock():
        results = write_tables(exp)
    counts = {k: int(v) for k, v in results["status"].value_counts().to_dict().items()}
    evaluations: dict[str, int] = {}
    if exp.evaluate:
        evaluations = run_evaluations(exp, options, say, on_dispatch=on_dispatch, ray=ray).counts
    if counts.get(RUNNING) or counts.get(PENDING) or evaluations.get(PENDING):
        status = "unfinished"
    elif counts.get(ERROR) or evaluations.get(ERROR):
        status = "failed"
    else:
        status = "done"
    evaluated = f"; evaluations {counts_line(evaluations)}" if evaluations else ""
    say(f"[{doc['key']}] {len(exp.trials)} trials: {counts_line(counts)}{evaluated}")
    return IndexRow(key=doc["key"], title=doc["title"], status=status, folder=doc["key"], report=None, trials=counts,
                    evaluations=evaluations, beside_paper=None, state=json.dumps([counts, evaluations], sort_keys=True))


def create_transfer(parent: Path, sp: StudyPlan, execution: Execution, log: tuple[str, ...]) -> None:
    """Write a transfer study's folder: every trial of ``PARENT/<its source study>`` fine-tuned
    (:func:`rsb_sweep.driver.transfer.plan_transfer`; they wait until their model has trained)."""
    from dataclasses import replace

    from rsb_sweep.driver.transfer import plan_transfer

    assert sp.transfer is not None
    settings = replace(sp.transfer, source=str(Path(parent) / sp.study.transfer_of))
    plan_transfer(settings, sp.study.key).create(Path(parent) / sp.study.key, execution, log=log)


def transfer_row(parent: Path, doc: dict[str, Any], exp: Experiment, options: LaunchOptions, console: Console,
                 say: Callable[[str], None], on_dispatch: Callable[[], None], ray: CommandRay) -> IndexRow:
    """Run a transfer study's fine-tunings whose model has finished (on ``ray``; the others wait for a later
    ``resume PARENT``), then its row as :func:`study_row` makes every study's."""
    from rsb_sweep.driver.transfer import prepare_transfer
    from rsb_sweep.spec.transfer import is_resolved

    view, _ = prepare_transfer(exp, say)
    if view.trials:
        try:
            run_experiment(view, options, console=console, on_dispatch=on_dispatch, ray=ray)
        finally:
            with exp.lock():
                write_tables(exp)  # every row, those waiting for their model PENDING
    waiting = sum(1 for t in exp.trials if not is_resolved(t))
    if waiting:
        say(f"[{doc['key']}] {waiting} fine-tunings wait for their {doc['transfer_of']} model to finish; "
            f"`rsb-sweep resume {parent}` runs them once it has")
    return study_row(parent, doc, exp, options, say, on_dispatch, ray)


def unfinished_row(doc: dict[str, Any]) -> IndexRow:
    """The row of a study this launch did not reach (interrupted before it)."""
    return IndexRow(key=doc["key"], title=doc["title"], status="unfinished", folder=doc["key"], report=None,
                    trials={}, evaluations={}, beside_paper=None)


def with_report(parent: Path, row: IndexRow, before: Optional[dict[str, Any]], say: Callable[[str], None],
                make_report: Callable[[Path], Any]) -> IndexRow:
    """``row`` with its study's report (in ``parent / row.folder``) and that report's beside-the-paper counts: the
    report is made when the study has no unfinished part and the report is missing or was made from other
    counts (``before``: the row of the previous index)."""
    from dataclasses import replace

    folder = Path(parent) / row.folder
    report_json, report_html = folder / REPORT_JSON, folder / REPORT_HTML
    if row.status == "unfinished":
        return row
    error = None
    stale = not (before and before.get("state") == row.state and before.get("report") and report_html.is_file())
    if stale:
        started = time.time()
        try:
            paths = make_report(folder)
            report_json, report_html = paths.json, paths.html
            say(f"[{row.key}] report: {report_html} ({time.time() - started:.0f} s)")
        except Exception as exc:  # a report that cannot be made is this study's failure, not the run's crash
            import traceback

            saved = folder / REPORT_ERROR
            saved.write_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            error = f"report failed: {one_line(exc)} (traceback: {saved})"
            say(f"[{row.key}] {error}")
    if error:
        return replace(row, status="report_failed", error=error)
    return replace(row, report=str(Path(report_html).relative_to(parent)), beside_paper=beside_paper_summary(report_json))


def _files_counts(exp: Experiment) -> dict[str, int]:
    files = exp.store.read_all(exp.trial_ids)
    out: dict[str, int] = {}
    for f in files.values():
        out[f.status] = out.get(f.status, 0) + 1
    return out
