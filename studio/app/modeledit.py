"""A model working on the open piece: Edit > Continue from Here and Regenerate Selection (run by the Generate
panel's model), putting a chosen candidate back into the piece it came from, and the open piece or its
selection as the primer the Generate and Jam panels start from. `install(window)` creates the handler as
`window.modeledit` and connects the actions it owns."""
from __future__ import annotations

from ..music.piece import Piece
from . import actions
from .document import PieceDocument
from .genjob import bar_at, tune_bars


class ModelEdit:
    def __init__(self, window):
        self.window = window
        panel = window.generate_panel
        panel.candidateApplied.connect(self.apply_candidate)
        panel.primer_provider = self.primer
        window.jam_panel.primer_provider = self.primer

    def primer(self, kind: str) -> Piece | None:
        """The open piece ("Current piece"), or its selected notes from the first one's onset
        ("Current selection"); None when nothing fits."""
        tab = self.window.current_tab()
        if tab is None:
            return None
        doc = tab.document
        if kind == "Current selection":
            if not doc.selected.any():
                return None
            chosen = doc.piece.with_notes(doc.notes[doc.selected])
            chosen.meta.pop("abc", None)  # the whole tune's text: a folk model reads the selected notes instead
            return chosen.shift(-float(chosen.notes["start"].min()))
        return doc.piece.copy()

    def on_continue_here(self) -> None:
        """Continue the current piece from the playhead (from its end when the playhead is at the start);
        the music before the point is what the model continues."""
        tab = self.window.current_tab()
        if tab is None:
            return
        piece, at = tab.document.piece, tab.roll.view.playhead
        if not 0 < at < piece.duration:
            at = piece.duration
        self._edit_with_model(tab, "continue", at, None)

    def on_regenerate_selection(self) -> None:
        """Replace the time span of the selection with new material that joins the music around it."""
        tab = self.window.current_tab()
        if tab is None or not tab.document.selected.any():
            self.window.message("Select the notes to regenerate first")
            return
        sel = tab.document.notes[tab.document.selected]
        self._edit_with_model(tab, "regenerate", float(sel["start"].min()), float(sel["end"].max()))

    def _edit_with_model(self, tab, op: str, start: float, end: float | None) -> None:
        """Hand the edit to the Generate panel's model: seconds for performance models, the tune's written
        bars for folk models (the span's first and last bar, inclusive)."""
        w, panel = self.window, self.window.generate_panel
        if not panel.model.currentData():
            w.show_error("Pick a model in the Generate panel first (train one, or use one from the Library).")
            return
        piece = tab.document.piece.copy()
        if panel.is_folk:
            if "abc" not in piece.meta:
                w.show_error("This piece is not a folk tune; pick a performance model to continue or "
                             "regenerate it.")
                return
            bars = tune_bars(piece)
            first = bar_at(piece, start, bars)
            start, end = first, None if end is None else max(first, bar_at(piece, end - 1e-6, bars))
        if panel.start_edit(op, piece, start, end, target=tab.document):
            w.docks["Generate"].raise_()

    def apply_candidate(self, doc: PieceDocument, piece: Piece, info: dict) -> None:
        """A continuation/regeneration replaces the piece it came from (one undo step)."""
        w = self.window
        tab = next((t for t in w.editor_tabs() if t.document is doc), None)
        if tab is None:  # the piece was closed meanwhile: open the result instead
            w.add_piece(piece, "", {"generated": info})
            return
        if "abc" not in doc.piece.meta:
            piece.meta.pop("abc", None)
        piece.title = doc.piece.title
        doc.replace_piece("Continue from here" if info.get("op") == "continue" else "Regenerate selection", piece)
        doc.provenance.setdefault("edits", []).append(info)
        w.tabs.setCurrentWidget(tab)
        w.message(f"{doc.title}: candidate {info.get('candidate')} (seed {info.get('seed')}) put in; "
                  "Undo takes it back")


def install(window) -> ModelEdit:
    """Needs the Generate and Jam panels (`window.generate_panel`, `window.jam_panel`)."""
    modeledit = ModelEdit(window)
    actions.connect(window.actions_, "modeledit", modeledit)
    window.modeledit = modeledit
    return modeledit
