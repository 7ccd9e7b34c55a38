"""What tests share and no test module holds: the `discover` command run three ways, archive and
objective builders, a scripted OpenAI-compatible endpoint, evaluators made for tests and the
browser under Textual's pilot. A test module imports from here, never from another test module
(`tests/test_test_layout.py`)."""
