"""drafter's tests, one folder per layer of the package (``tests/cli`` tests ``drafter/cli``, ...).

``hardening`` holds the cross-cutting reliability tests, ``e2e`` the recorded end-to-end run,
``package`` the rules for the package as a whole. Every folder is a package, so test files in
different folders may share a name. Helpers used by more than one test module live in
``tests/support`` (or in a ``conftest.py``); a test module never imports another test module.
"""
