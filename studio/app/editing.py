"""The Edit and View menus on the current piece: undo/redo, clipboard, selection, quantize, transpose, nudge,
zoom and follow-the-playhead. Every command acts on the current tab's roll (none when no piece is open).
`install(window)` creates the handler as `window.editing` and connects the actions it owns."""
from __future__ import annotations

from . import actions


class Editing:
    def __init__(self, window):
        self.window = window
        window.tabAdded.connect(self._tab_added)

    def _tab_added(self, tab) -> None:
        tab.roll.view.follow = self.window.actions_["follow"].isChecked()

    def _roll_call(self, method: str, *args) -> None:
        roll = self.window.current_roll()
        if roll is not None:
            getattr(roll, method)(*args)

    def on_undo(self) -> None:
        tab = self.window.current_tab()
        if tab:
            tab.document.undo_stack.undo()

    def on_redo(self) -> None:
        tab = self.window.current_tab()
        if tab:
            tab.document.undo_stack.redo()

    def on_cut(self) -> None:
        self._roll_call("cut_selection")

    def on_copy(self) -> None:
        self._roll_call("copy_selection")

    def on_paste(self) -> None:
        self._roll_call("paste")

    def on_delete(self) -> None:
        self._roll_call("delete_selection")

    def on_select_all(self) -> None:
        self._roll_call("select_all")

    def on_select_none(self) -> None:
        tab = self.window.current_tab()
        if tab:
            tab.document.clear_selection()

    def on_quantize(self) -> None:
        self._roll_call("quantize_selection")

    def on_transpose_up(self) -> None:
        self._roll_call("transpose_selection", 1)

    def on_transpose_down(self) -> None:
        self._roll_call("transpose_selection", -1)

    def on_octave_up(self) -> None:
        self._roll_call("transpose_selection", 12)

    def on_octave_down(self) -> None:
        self._roll_call("transpose_selection", -12)

    def on_nudge_left(self) -> None:
        self._roll_call("nudge_selection", -1)

    def on_nudge_right(self) -> None:
        self._roll_call("nudge_selection", 1)

    def on_bar_left(self) -> None:
        self._roll_call("nudge_selection", -1, True)

    def on_bar_right(self) -> None:
        self._roll_call("nudge_selection", 1, True)

    # ----------------------------------------------------------------- View
    def on_zoom_in(self) -> None:
        self._roll_call("zoom", 1.25)

    def on_zoom_out(self) -> None:
        self._roll_call("zoom", 0.8)

    def on_zoom_fit(self) -> None:
        roll = self.window.current_roll()
        if roll:
            roll.view.zoom_to_fit()

    def on_follow(self, checked: bool = True) -> None:
        for t in self.window.editor_tabs():
            t.roll.view.follow = checked
            t.roll.view.resume_follow()


def install(window) -> Editing:
    editing = Editing(window)
    window.actions_["follow"].setChecked(True)
    actions.connect(window.actions_, "editing", editing)
    window.editing = editing
    return editing
