"""Analyses of trained models: where their attention goes."""
