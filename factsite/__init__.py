"""factsite: a static fact-check microsite generator.

Data flows one way: load (files) -> validate (raw data to model, collecting
problems) -> model (cross-linked dataclasses) -> render (pages to bytes) ->
write (atomic swap of the output folder).
"""

__version__ = "0.1.0"
