"""The attack engine: differential evolution batched across images (numpy only).

Nothing here imports pytest, the settings layer or a model framework; the engine sees a model
only as a function from a float32 batch to class scores. Importing this package imports nothing
heavy: `presets` and `layouts` are free of numpy so the settings table (and pytest start-up)
can name presets and layouts cheaply.

- `operators`: the DE operators of Su et al., one small function each.
- `search`: `SearchPool`, an iterator running one generation of many images per `next()`.
- `pixels`: images in raw pixel space and realizable k-pixel changes.
- `scoring`: model outputs to validated class probabilities.
- `batches`: chunked model queries through one reusable buffer.
- `presets`, `layouts`: named choices, free of heavy imports.
"""
