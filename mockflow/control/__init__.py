"""The test-double controls under `/_mockflow/`: reset, state, faults, journal, clock and
namespaces, over HTTP (a second API bundle with its own OpenAPI document) and in Python
(`app.control`)."""
