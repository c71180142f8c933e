"""Library, Train and Generate panels on real widgets. Most training checks run a scripted training function
with the engine's signature in a real background thread, to check what the user sees quickly (progress, loss
curve, stop/resume, divergence); one slow test trains a tiny model with the real engine from the panel and
generates from it. The Generate panel with the real engine is in test_app_generate.py."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from apphelpers import reject_input, scale_piece
from studio import atomic
from studio.app import engines
from studio.app.generate import GeneratePanel
from studio.app.library import LibraryPanel, builtin_collections
from studio.app.mainwindow import MainWindow
from studio.app.train import TrainPanel, preset_values
from studio.app.widgets import select_data
from studio.app.workers import Job


@pytest.fixture
def corpus(studio_home):
    folder = studio_home / "corpora" / "session"
    atomic.write_json(folder / "corpus.json", {
        "name": "session", "codec": {"codec": "folk", "vocab": ["M:6/8", "K:Cmaj", "C", "D"]},
        "created": "2026-01-01T00:00:00", "sources": ["session-tunes.abc"],
        "stats": {"pieces": 4, "tokens": 812, "skipped": 0}, "split": {"method": "hash", "valid": 0.05, "test": 0.05}})
    return folder


@pytest.fixture
def folk_model(studio_home):
    folder = studio_home / "models" / "folk-small"
    atomic.write_json(folder / "model.json", {
        "format": "studio-model", "architecture": {"vocab_size": 10, "cell": "lstm", "layers": 2, "units": 64},
        "parameters": 52000, "training": {"corpus": "session", "steps": 300, "valid_nll_per_token": 1.234},
        "codec": {"codec": "folk", "vocab": ["M:6/8", "M:4/4", "K:Cmaj", "K:Cdor", "C", "D", "|", "<pad>", "<s>", "</s>"]}})
    from safetensors.torch import save_file

    from studio.nn.folder import weights_of
    from studio.nn.model import ModelConfig, SequenceModel

    save_file(weights_of(SequenceModel(ModelConfig(vocab_size=10, layers=2, units=64))),
              str(folder / "weights.safetensors"))  # a model folder is listed as healthy only with its weights
    return folder


def test_library_lists_builtin_collections_corpora_and_models_with_cards(qtbot, corpus, folk_model):
    panel = LibraryPanel()
    qtbot.addWidget(panel)
    names = [e.name for e in panel.entries]
    assert {e.name for e in builtin_collections()} <= set(names)
    assert "oneills1850" in names and "session" in names and "folk-small" in names
    entry = next(e for e in panel.entries if e.name == "session")
    assert entry.summary == "folk, 4 pieces"
    assert next(e for e in panel.entries if e.name == "folk-small").summary == "folk, lstm 2x64"
    for i in range(panel.tree.topLevelItemCount()):
        top = panel.tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).text(0) == "folk-small":
                panel.tree.setCurrentItem(top.child(j))
    card = panel.card.toPlainText()
    assert "folk" in card and "1.234" in card and "lstm" in card and "52,000" in card and "session" in card
    with qtbot.waitSignal(panel.modelChosen) as chosen:
        panel.use_button.click()
    assert chosen.args[0] == str(folk_model)


def test_generate_panel_builds_meter_and_mode_menus_from_the_models_vocabulary(qtbot, folk_model):
    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.set_models([("folk-small", str(folk_model))])
    assert [panel.meter.itemText(i) for i in range(panel.meter.count())][1:] == ["6/8", "4/4"]
    assert [panel.mode.itemText(i) for i in range(panel.mode.count())][1:] == ["major", "dorian"]
    assert [panel.meter.itemData(i) for i in range(panel.meter.count())][1:] == ["M:6/8", "M:4/4"]
    assert panel.length_unit.text() == "bars" and panel.settings()["bars"] == 16
    assert panel.temperature.value() == 1.0 and "lower" in panel.temperature.toolTip()
    seed = panel.seed.value()
    panel.new_seed.click()
    assert panel.seed.value() != seed


def scripted_training(config, progress, stop, fail_at=None):
    """Stands in for studio.training.train: a real loop that reports like the engine and honours stop."""
    start = 50 if config.get("resume") else 0
    steps = config["overrides"]["steps"]
    for step in range(start + 1, steps + 1):
        if stop.is_set():
            return {"model_dir": config["out_dir"], "status": "stopped", "step": step}
        loss = float("nan") if step == fail_at else 4.0 / math.sqrt(step)
        progress({"step": step, "steps": steps, "train_loss": loss, "valid_loss": loss + 0.1 if step % 10 == 0 else None,
                  "tokens_per_second": 1000.0, "elapsed": step * 0.01, "model_dir": config["out_dir"]})
        time.sleep(0.002)
    return {"model_dir": config["out_dir"], "status": "finished", "step": steps}


def test_train_panel_runs_in_the_background_stops_and_resumes(qtbot, corpus):
    panel = TrainPanel()
    qtbot.addWidget(panel)
    panel.set_corpora([("session", str(corpus))])
    panel.preset.setCurrentText("folk-rnn")
    assert panel.units.value() == preset_values("folk-rnn")["units"] == 512 and panel.dropout.value() == 0.5
    panel.preset.setCurrentText("small")
    panel.steps.setValue(100000)
    panel.start(train_fn=scripted_training)
    qtbot.waitUntil(lambda: len(panel.plot.train) > 20, timeout=60000)
    assert panel.stop_button.isEnabled() and not panel.train_button.isEnabled()
    with qtbot.waitSignal(panel.modelTrained, timeout=60000):
        panel.stop()
    assert "Stopped" in panel.status.text() and "/models/session-small-" in panel.last_model_dir
    assert panel.progress.value() < 100000 and "ETA" in panel.metrics.text()
    panel.steps.setValue(80)
    with qtbot.waitSignal(panel.modelTrained, timeout=60000):
        panel.start(resume=True, train_fn=scripted_training)
    assert panel.progress.value() == 80 and "Finished" in panel.status.text()
    assert panel.plot.valid  # validation points drawn


def test_training_that_diverges_says_so_and_stops(qtbot, corpus):
    panel = TrainPanel()
    qtbot.addWidget(panel)
    panel.set_corpora([("session", str(corpus))])
    panel.steps.setValue(1000)
    with qtbot.waitSignal(panel.error, timeout=60000) as err:
        panel.start(train_fn=lambda cfg, progress, stop: scripted_training(cfg, progress, stop, fail_at=30))
    assert "diverged at step 30" in err.args[0]
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=60000)
    assert panel.plot.train[-1][0] < 1000  # it stopped at the divergence, not at the end of the run


def test_a_job_that_raises_reports_the_reason_and_the_thread_ends(qtbot):
    job = Job(reject_input, "tune.abc")
    with qtbot.waitSignal(job.failed, timeout=60000) as failed:
        job.start()
    assert failed.args[0] == "tune.abc: line 3: no K: field"
    assert job.wait(30000)


def test_closing_during_training_asks_and_keeps_running_if_refused(qtbot, corpus, monkeypatch):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.train_panel.set_corpora([("session", str(corpus))])
    window.train_panel.steps.setValue(100000)
    window.train_panel.start(train_fn=scripted_training)
    qtbot.waitUntil(lambda: len(window.train_panel.plot.train) > 2, timeout=60000)
    asked = []
    monkeypatch.setattr(window, "ask", lambda q, *a: asked.append(q) or False)
    window.close()
    assert window.isVisible() and window.train_panel.is_running() and "checkpoint" in asked[0]
    monkeypatch.setattr(window, "ask", lambda q, *a: True)
    window.close()
    assert not window.isVisible() and not window.train_panel.is_running()


def test_every_engine_is_found_and_a_missing_one_is_named():
    assert all(engines.available(name) for name in engines.ENGINES)
    assert all(name in engines.WHERE for name in engines.ENGINES)
    engines.ENGINES["absent"] = ("studio.no_such_engine", "run")
    try:
        missing = engines.engine("absent")
        assert not missing and "no module studio.no_such_engine" in missing.tooltip
    finally:
        del engines.ENGINES["absent"]


def test_a_job_process_that_dies_or_fails_is_reported(qtbot):
    from apphelpers import crash_midway, reject_input
    from studio.app.workers import ProcessJob, make_job

    job = make_job(crash_midway, parent=None, in_process=True)
    assert isinstance(job, ProcessJob)
    steps = []
    job.progress.connect(steps.append)
    with qtbot.waitSignal(job.failed, timeout=60000) as failed:
        job.start()
    assert "exit code 3" in failed.args[0] and steps == [{"step": 1}]
    job = ProcessJob(reject_input, "tune.abc")
    with qtbot.waitSignal(job.failed, timeout=60000) as failed:
        job.start()
    assert failed.args[0] == "tune.abc: line 3: no K: field"
    assert isinstance(make_job(lambda progress, stop: None, in_process=True), Job)


def import_scales(qtbot, folder, count: int) -> MainWindow:
    """A window importing `count` scale MIDI files written to `folder` as corpus "scales" (in the background)."""
    for k in range(count):
        scale_piece().transpose(k).write_midi(folder / f"scale{k}.mid")
    window = MainWindow()
    qtbot.addWidget(window)
    # answer yes to every question: closing it after a failed test whose training still runs must not wait
    # on a modal "Stop it and quit?" (it stalled the whole xdist run)
    window.ask = lambda *a, **k: True
    window.files.import_into_library("scales", [str(folder)])
    return window


def test_importing_files_into_the_library_builds_a_corpus_and_lists_it(qtbot, tmp_path):
    window = import_scales(qtbot, tmp_path, 2)
    qtbot.waitUntil(lambda: any(e.name == "scales" for e in window.library.corpus_entries()), timeout=60000)
    entry = next(e for e in window.library.corpus_entries() if e.name == "scales")
    assert entry.summary == "performance, 2 pieces"
    assert "2 pieces" in window.library.status.text()
    assert window.train_panel.corpus.findData(entry.path) >= 0  # ready to train on


@pytest.mark.slow
def test_a_tiny_model_trains_from_the_panel_stops_resumes_and_joins_the_library(qtbot, tmp_path):
    window = import_scales(qtbot, tmp_path, 6)
    qtbot.waitUntil(lambda: window.train_panel.corpus.count() > 0, timeout=60000)
    panel = window.train_panel
    panel.preset.setCurrentText("small")
    for name, value in (("layers", 1), ("units", 16), ("embedding", 8), ("batch_size", 4), ("seq_len", 16),
                        ("steps", 1_000_000)):  # cannot finish before Stop, however slow the GUI thread
        getattr(panel, name).setValue(value)
    panel.name.setText("tiny")
    assert panel.train_button.isEnabled()
    window.last_error = None
    panel.train_button.click()
    # a loaded machine (CI, two cores shared with another test worker) may take a while to the first steps;
    # a failed run says why instead of timing out in silence
    qtbot.waitUntil(lambda: len(panel.plot.train) >= 2 or window.last_error is not None, timeout=180000)
    assert window.last_error is None, window.last_error
    with qtbot.waitSignal(panel.modelTrained, timeout=60000):
        panel.stop_button.click()
    assert "Stopped" in panel.status.text() and panel.resume_button.isEnabled()
    stopped_at = panel.progress.value()
    panel.steps.setValue(stopped_at + 20)
    with qtbot.waitSignal(panel.modelTrained, timeout=60000):
        panel.resume_button.click()
    assert "Finished" in panel.status.text() and panel.progress.value() == stopped_at + 20
    qtbot.waitUntil(lambda: any(e.name == "tiny" for e in window.library.model_entries()), timeout=60000)
    card = json.loads((Path(panel.last_model_dir) / "model.json").read_text())
    assert card["training"]["steps"] == stopped_at + 20
    generating = window.generate_panel  # the new model generates, and its candidate opens
    generating.choose_model(panel.last_model_dir)
    generating.length.setValue(2)
    generating.candidates.setValue(1)
    generating.generate_button.click()
    qtbot.waitUntil(lambda: not generating.is_running(), timeout=30000)
    piece, _info = generating.candidate(0)
    generating.open_item(generating.results.item(0))
    assert len(window.current_tab().document.notes) == len(piece.notes)
    assert window.current_tab().document.provenance["generated"]["model"] == panel.last_model_dir
    # the trained model can start a wider one, which remembers where it came from
    tiny = panel.last_model_dir
    assert panel.start_from.findData(tiny) >= 0
    select_data(panel.start_from, tiny)
    panel.units.setValue(24)
    panel.steps.setValue(3)
    panel.name.setText("tiny-wider")
    with qtbot.waitSignal(panel.modelTrained, timeout=60000):
        panel.train_button.click()
    card = json.loads((Path(panel.last_model_dir) / "model.json").read_text())
    assert card["architecture"]["units"] == 24 and card["training"]["initialised_from"]["path"] == tiny
