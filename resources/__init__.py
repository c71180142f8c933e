"""Shipped resources: installed as a package so importlib.resources finds it in a clone and in a wheel."""
