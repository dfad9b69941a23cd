"""Helpers shared by test modules: paths, sample issues, fake chat models, CLI runs and local servers."""
