"""`bsf tui`: a Textual app over the engine. It reads projects, artifacts and the run
store, and launches or cancels runs as detached processes — it never computes a
stage itself, so quitting it or losing SSH stops nothing."""
