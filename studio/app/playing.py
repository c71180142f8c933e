"""The Transport menu and bar: play/stop, pause, stop, loop, go to start, panic, the output menu, and the
jam toggle; it keeps the player in step with the piece being played (seeks, loops and edits on its roll).
`install(window)` creates the transport (`window.transport`), this handler (`window.playing`) and the
transport bar (`window.transport_bar`), and connects the actions it owns."""
from __future__ import annotations

from ..errors import StudioError
from . import actions, transportbar
from .document import PieceDocument
from .transport import Transport


class Playing:
    def __init__(self, window):
        self.window = window
        self.transport = Transport(window)
        self._playing: PieceDocument | None = None  # the document the transport plays
        self.transport.positionChanged.connect(self._playhead_moved)
        self.transport.message.connect(window.message)
        self.output_menu = window.menus["Transport"].addMenu("&Output")
        self.output_menu.setToolTipsVisible(True)
        self.output_menu.aboutToShow.connect(self._fill_output_menu)
        window.tabAdded.connect(self._tab_added)

    @property
    def jam(self):
        return self.window.jam_panel

    def _tab_added(self, tab) -> None:
        """The roll's notes sound when clicked; its seeks, loops and edits reach the player while it plays."""
        doc, t = tab.document, self.transport
        tab.roll.noteAuditioned.connect(t.audition)
        tab.roll.seekRequested.connect(lambda s, d=doc: self._if_playing(d, t.seek, s))
        tab.roll.loopChanged.connect(lambda loop, d=doc: self._if_playing(d, t.set_loop, loop))
        doc.changed.connect(lambda d=doc: self._if_playing(d, t.update_piece, d.piece.copy()))

    def _if_playing(self, doc: PieceDocument, action, *args) -> None:
        """Pass a seek, loop or edit of the piece being played on to the player."""
        if self.transport.state != "stopped" and self._playing is doc:
            action(*args)

    def _playhead_moved(self, seconds: float) -> None:
        roll = self.window.current_roll()
        if roll:
            roll.set_playhead(seconds)

    # ----------------------------------------------------------------- outputs
    def _fill_output_menu(self) -> None:
        """Outputs listed by name, re-scanned each time the menu opens (anchors: pick ports explicitly)."""
        menu = self.output_menu
        menu.clear()
        if not self.transport.available:
            menu.addAction(self.transport.why_unavailable).setEnabled(False)
            return
        try:
            outputs = self.transport.outputs()
        except Exception as exc:  # the MIDI system cannot be asked: say so in the menu
            menu.addAction(f"Cannot list MIDI ports: {exc}").setEnabled(False)
            outputs = [("Built-in synth", "builtin:")]
        current = self.transport.output
        for label, key in outputs:
            act = menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(bool(current) and (key.partition(":")[2] or label) in current)
            act.triggered.connect(lambda _c=False, k=key: self.choose_output(k))

    def choose_output(self, key: str) -> None:
        try:
            self.transport.use_output(key)
        except Exception as exc:
            self.window.show_error(f"Cannot use that output: {exc.message() if isinstance(exc, StudioError) else exc}")
            return
        self.window.message(f"Playing on {self.transport.output}")

    # ----------------------------------------------------------------- Transport menu
    def on_play_stop(self) -> None:
        if self.jam.running or self.jam.starting:  # Space ends a jam as it ends playback
            self.jam.stop()
            return
        roll = self.window.current_roll()
        if roll is None:
            return
        if self.transport.state == "playing":
            self.transport.stop()
            return
        roll.view.resume_follow()
        try:
            self.transport.play(roll.document.piece.copy(), roll.view.playhead, roll.view.loop)
        except Exception as exc:  # no audio output, a MIDI port gone: say so, keep editing
            self.window.show_error(f"Cannot play: {exc.message() if isinstance(exc, StudioError) else exc}")
            return
        self._playing = roll.document

    def on_pause(self) -> None:
        self.transport.pause()

    def on_to_start(self) -> None:
        roll = self.window.current_roll()
        if roll:
            roll.set_playhead(0.0)
            roll.scroll_to(0.0)

    def on_panic(self) -> None:
        self.jam.shutdown()
        self.transport.panic()

    def on_stop(self) -> None:
        if self.jam.running or self.jam.starting:
            self.jam.stop()
        self.transport.stop()
        self.on_to_start()

    def on_loop(self, checked: bool = False) -> None:
        self.window.transport_bar.toggle_loop(checked)

    def on_jam(self) -> None:
        dock = self.window.docks["Jam"]
        dock.show()
        dock.raise_()
        self.jam.toggle()

    def shutdown(self) -> None:
        self.transport.close()


def install(window) -> Playing:
    """Needs the Jam panel (`window.jam_panel`), which the transport drives and Space stops."""
    playing = Playing(window)
    window.playing = playing
    window.transport = playing.transport
    window.jam_panel.transport = playing.transport
    actions.connect(window.actions_, "playing", playing)
    window.transport_bar = transportbar.install(window)
    return playing
