"""Wire shapes of the v1 API: how store records are shown as the spec's objects."""
