"""The completion functions the engine is given: litellm (`llm`, built from `sdk`, `structured`,
`call` and `pricing`) and local llama.cpp judges (`local`, `xllama_server`). Only these modules
import a provider SDK, and only when a call goes out."""
