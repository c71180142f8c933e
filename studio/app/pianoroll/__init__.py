"""The piano-roll editor: one scene item paints every visible note from the document's arrays (no item or
widget per note), a view handles the tools, and the keyboard, ruler and velocity lane follow its scrolling."""
from .roll import PianoRoll

__all__ = ["PianoRoll"]
