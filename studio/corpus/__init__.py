"""Corpora: importing files into tokenized corpora (`importer`), the on-disk store that training
memory-maps (`store`), the encode cache (`cache`) and music21's built-in collections (`builtin`)."""
