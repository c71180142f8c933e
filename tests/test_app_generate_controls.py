"""The Generate panel's performance controls and beam search on the real window: note density (slider and box),
pitch-class weights from presets and from the open piece, beam options; the values reach the Settings the
generation job samples with; models trained without controls get them disabled, with the reason."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from apphelpers import scale_piece
from studio.app.generate import NO_CONTROLS_TIP
from studio.codecs import get_codec
from studio.codecs.performance_controls import scale_histogram
from studio.nn import ModelConfig, SequenceModel, save_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    codec = get_codec("performance")
    home = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    made = {}
    for name, controls in (("piano-controls", codec.controls.size), ("piano-plain", 0)):
        model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=1, units=16, control_size=controls))
        made[name] = save_model(model, home / name, codec.config)
    folk = get_codec("folk")
    made["folk"] = save_model(SequenceModel(ModelConfig(vocab_size=folk.vocab_size, layers=1, units=16)),
                              home / "folk", folk.config)
    return made


@pytest.fixture
def window(main_window, models):
    w = main_window
    w.generate_panel.set_models([(name, str(p)) for name, p in models.items()])
    w.generate_panel.seed.setValue(3)
    return w


def test_controls_and_beam_settings_reach_the_job(window, qtbot, models):
    panel = window.generate_panel
    piece = scale_piece()
    window.add_piece(piece)
    panel.choose_model(str(models["piano-controls"]))
    assert panel.density_row.isEnabled() and panel.pitch_box.isEnabled() and panel.density_row.isVisibleTo(panel)
    assert not panel.density_on.isChecked() and not panel.pitch_on.isChecked() and not panel.beam_on.isChecked()
    assert "note_density" not in panel.settings() and "beam_size" not in panel.settings()  # all off by default

    panel.density_slider.setValue(120)  # the slider and the box agree
    assert panel.density.value() == 12.0
    panel.density.setValue(90.0)  # past the slider's end: the box's value counts
    assert panel.density_slider.value() == panel.density_slider.maximum()
    panel.density_on.setChecked(True)

    panel.pitch_preset.setCurrentIndex(panel.pitch_preset.findText("From the current piece"))
    assert panel.apply_pitch_preset()
    notes = piece.notes  # the open piece's sounding time per pitch class, counted here on its own
    expected = np.zeros(12)
    for n in notes:
        expected[n["pitch"] % 12] += n["end"] - n["start"]
    np.testing.assert_allclose(panel.pitch_weights(), expected / expected.max(), atol=0.01)

    panel.pitch_preset.setCurrentIndex(panel.pitch_preset.findText("Minor scale"))
    panel.pitch_key.setCurrentText("A")
    panel.apply_pitch_preset()
    assert panel.pitch_weights() == scale_histogram("C", "major")  # A minor has C major's pitch classes
    panel.pitch_on.setChecked(True)

    panel.beam_on.setChecked(True)
    panel.beam_size.setValue(2)
    panel.branch_factor.setValue(3)
    panel.candidates.setValue(1)
    panel.length.setValue(2)
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=60000)
    piece_made, info = panel.candidate(0)
    got = info["settings"]  # the Settings the job sampled with
    assert got["note_density"] == 90.0 and got["pitch_histogram"] == scale_histogram("C", "major")
    assert (got["beam_size"], got["branch_factor"], got["steps_per_iteration"]) == (2, 3, 1)
    assert info["ended"] == "length" and 0 < piece_made.duration <= 2.0 + 1e-6
    assert json.loads(panel.results.item(0).toolTip())["settings"]["note_density"] == 90.0
    assert "beam 2x3/1" in panel.results.item(0).text()


def test_models_without_controls_disable_them_and_say_why(window, models):
    panel = window.generate_panel
    panel.choose_model(str(models["piano-controls"]))
    panel.density_on.setChecked(True)
    panel.pitch_on.setChecked(True)
    panel.choose_model(str(models["piano-plain"]))
    assert panel.density_row.isVisibleTo(panel) and not panel.density_row.isEnabled()
    assert not panel.pitch_box.isEnabled() and panel.pitch_box.toolTip() == NO_CONTROLS_TIP
    settings = panel.settings()
    assert "note_density" not in settings and "pitch_histogram" not in settings
    panel.choose_model(str(models["folk"]))  # folk models: no performance controls; beam search stays
    assert not panel.density_row.isVisibleTo(panel) and panel.beam_row.isVisibleTo(panel)
    panel.beam_on.setChecked(True)
    assert panel.settings()["beam_size"] == 4 and "note_density" not in panel.settings()
