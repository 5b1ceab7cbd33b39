"""The completion functions the engine is given: litellm (`llm`, built from `sdk`, `structured`,
`call` and `pricing`), aiohttp to OpenAI-compatible servers (`lean`), and local llama.cpp judges
(`local`, `xllama_server`). Only these modules import a provider SDK or an HTTP client, and only
when a call goes out."""
