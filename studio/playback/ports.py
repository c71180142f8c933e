"""MIDI output ports by name, through mido's current backend (python-rtmidi; `MIDO_BACKEND` picks the API,
e.g. `mido.backends.rtmidi/UNIX_JACK`). Every listing asks the system afresh, so new devices show up
without a restart."""
from __future__ import annotations

import time

import mido

from ..errors import InvalidArgument, StudioError

VIRTUAL_PORT_NAME = "Studio"
JACK_SETTLE = 0.1  # JACK applies a new connection a few process cycles later; sooner, messages are lost


class PortUnavailable(StudioError):
    """A MIDI port could not be opened or has gone away."""

    def __init__(self, reason: str):
        super().__init__(None, None, reason)


def list_output_ports() -> list[str]:
    """Names of the MIDI outputs the system offers now (empty when the MIDI system is unavailable)."""
    try:
        return list(dict.fromkeys(mido.get_output_names()))
    except Exception:  # rtmidi raises its own errors when no MIDI system (ALSA/JACK/CoreMIDI) is reachable
        return []


def resolve_port_name(name: str, available: list[str] | None = None) -> str:
    """The exact port name for `name`: itself, or the one port whose name contains it (case-insensitive),
    since system port names often carry changing numbers (`FLUID Synth (1234):Synth input port 128:0`)."""
    available = list_output_ports() if available is None else available
    if name in available:
        return name
    matches = [p for p in available if name.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(repr(p) for p in available) or "none"
    if matches:
        raise InvalidArgument(f"MIDI port name {name!r} matches several ports: {', '.join(map(repr, matches))}")
    raise InvalidArgument(f"no MIDI output port named {name!r} (available: {listing})")


def open_output_port(name: str) -> tuple[str, mido.ports.BaseOutput]:
    """Open an output by (part of) its name; returns (exact name, port)."""
    exact = resolve_port_name(name)
    try:
        port = mido.open_output(exact)
    except Exception as exc:
        raise PortUnavailable(f"cannot open MIDI port {exact!r}: {exc}") from exc
    if getattr(port, "api", "") == "UNIX_JACK":
        time.sleep(JACK_SETTLE)
    return exact, port


def close_port(port: mido.ports.BaseOutput) -> None:
    """Close an output once what was just sent has gone out: JACK hands MIDI over at its next process cycle,
    and a port closed before then drops it (a jam stopped with Ctrl+C left every note it had ended sounding)."""
    if getattr(port, "api", "") == "UNIX_JACK" and not getattr(port, "closed", False):
        time.sleep(JACK_SETTLE)
    port.close()


def open_virtual_port(name: str = VIRTUAL_PORT_NAME) -> mido.ports.BaseOutput:
    """Our own output that synths and DAWs can connect to (ALSA, JACK, CoreMIDI; not Windows MM)."""
    try:
        return mido.open_output(name, virtual=True)
    except Exception as exc:
        raise PortUnavailable(f"this MIDI system cannot create a virtual port {name!r} ({exc}); "
                              "on Windows use a loopback driver such as loopMIDI and pick its port") from exc


def port_present(port: mido.ports.BaseOutput) -> bool:
    """Whether the system still offers the port `port` sends to. Asked through the port's own rtmidi client
    where there is one: opening a fresh client for each check makes JACK rebuild its graph, and it drops
    MIDI while it does."""
    rt = getattr(port, "_rt", None)
    try:
        names = rt.get_ports() if rt is not None else mido.get_output_names()
    except Exception:
        return False
    return port.name in names
