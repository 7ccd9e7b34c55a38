"""LLM-as-a-judge scoring shared by the `mtbench` and `alpaca` evaluators.

One module per job: `questions` (prompt sets from the hub or a local file), `answers` (a model
answers them with its chat template), `prompts` (the judge's words, as text files in `prompts/`),
`client` (an OpenAI-compatible judge with retries and token accounting), `cache` (judgments in
SQLite, so a rerun costs nothing), `grading` (question + answers -> judged figures),
`length_control` (the length-controlled win rate of `alpaca`) and `options` (one flat set of
evaluator options over the settings groups).
"""
