"""`judge serve`: the scoring service over HTTP, for harnesses in any language.

`app.create_app` builds the FastAPI app around one Scorer, `server.serve` runs it on uvicorn,
`promptfoo` maps promptfoo's webhook assertion onto a rubric; the click command is
`judge/cli/serve.py`.
Importing this package imports nothing heavy; import the modules you need.
"""
