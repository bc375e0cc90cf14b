"""Reusable constructs: one construct per folder, each with a README (inputs, outputs, defaults)."""
