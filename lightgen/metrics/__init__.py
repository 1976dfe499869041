"""Evaluation metrics: sample quality (fidelity, classifier), likelihood, Parzen, memorisation, modes.

Modules are imported on demand (``from lightgen.metrics.fidelity import ...``) so that importing
lightgen does not pull in torch-fidelity or scipy.
"""
