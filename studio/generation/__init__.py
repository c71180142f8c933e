"""Sampling pieces from a trained model: batch and streaming generation, continuation, regeneration of a
span, endless generation ahead of a player, writing candidates with their provenance, and evaluating them."""
from .rules import Plan, rules_for
from .sampler import Candidate, Generation, Settings, Step, generate

__all__ = ["Settings", "Generation", "Candidate", "Step", "generate", "Plan", "rules_for"]
