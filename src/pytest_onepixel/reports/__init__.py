"""What people read, rendered from `GateOutcome`s and nothing else: the failure text, the
summary table, the JSON report and the progress line's text."""
