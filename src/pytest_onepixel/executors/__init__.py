"""Who searches a gate's attacked set: this process (`local`) or a Ray cluster (`ray`).

Both follow the same wave schedule (engine/schedule.py) and ask the same stop rule at the same
points, so they attack the same images and produce the same records; only where the model calls
happen differs. Importing this package imports nothing heavy (the settings table names
`EXECUTORS` at pytest start-up).
"""

EXECUTORS = ("local", "ray")
