"""Judge: prompts, the call engine (limits, retries, cache), the panel of judges, multi-stage
rubrics, the computed criteria, and the providers (`providers/`: litellm, local llama.cpp)."""
