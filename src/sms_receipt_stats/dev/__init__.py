"""Local tools: the CLI, the SMS/CMQ API emulator, a chat receiver, sample events, the package
builder and a local HTTP server. Never in the deployment zip (the build leaves this folder out
by path) and never imported by runtime modules (tests/unit/test_import_graph.py)."""
