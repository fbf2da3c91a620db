"""Learned triage: features, the model (fit / assess, saved parameters), training and
evaluation. Pure at inference: text and context in, a decision out (server/domain/triage.py
turns the model's answer and the force's rules into a priority)."""
