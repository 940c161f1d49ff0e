"""Who searches a gate's attacked set: this process (`local`) or a Ray cluster (`ray`).

Both follow the same wave schedule (engine/schedule.py) and ask the same stop rule at the same
points, so they attack the same images and produce the same records; only where the model calls
happen differs. Importing this package imports nothing heavy. The executor names
(`EXECUTORS`) live with the settings (settings/setting.py).
"""
