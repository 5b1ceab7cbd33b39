"""`judge score --batch`: the run's judge calls through the providers' batch APIs first (half
price at OpenAI and Azure, outside the per-minute rate limits), with the same resume guarantee.

A batch run is rounds of collect → submit → wait → apply, then the normal run:

1. **collect** (`collect.py`): the items the run would judge (the same skip rules) are
   scored with an engine that sends nothing. Each call the cache does not answer becomes one
   line of an OpenAI batch file: `custom_id` is the call's cache key, `body` the
   chat-completions request the live path sends (same tools or response format, built by
   `judge.judging.providers.llm`). The item stops there.
2. **submit** (`rounds.py`, through `client.py`): one batch per judge and reply model (at most
   `MAX_REQUESTS` lines and `MAX_BYTES`; a full file is submitted at once), uploaded and
   created through litellm's files and batches API. Its id, input file and keys are stored in
   the cache's database (tables `batches` and `batch_keys`, `state.py`) as it is created, so
   a rerun finds it and waits for it instead of paying again.
3. **wait** (`rounds.py`, as is what follows): every batch the run needs is polled until it
   ends (`--batch-poll`); with `--batch-wait` the run stops after that long (`BatchPending`)
   and the same command picks the batch up later.
4. **apply**: each output line is validated like a live reply and stored in the call cache
   under its key, priced at the batch rate.

Rounds repeat until a collecting pass finds nothing new (a multi-stage rubric's later stages
depend on its earlier replies). The run then scores every item as usual, the cache answering
each call a batch answered. A line the batch did not answer well (an error, or a reply that
does not validate) is judged live by that run, with its retries and re-asks. A batch that
ends without its output (failed, expired, cancelled) stops the run with the provider's reason;
what it did answer is kept, and a rerun submits the rest anew.

Only providers whose batch API speaks OpenAI's file format both ways are batched (`PROVIDERS`:
litellm sends these files unchanged). Other judges (a local llama.cpp judge, `hosted_vllm`,
anthropic, vertex_ai, bedrock, …) are judged live in the final pass, and the run says so.
Collecting makes no call, so a multi-stage rubric whose splitter (the panel's first judge by
name) runs live has its later stages judged live too.

`--export-batch` / `--import-batch` (`files.py`) take the same lines out to an engine of the
user's (vLLM's run_batch, Ray Data, a batch API) and the replies back in (`replies.py`, which
`--batch` applies its output lines with too).
"""

from judge.batch.client import PROVIDERS, unbatchable
from judge.batch.collect import MAX_BYTES, MAX_REQUESTS
from judge.batch.rounds import BatchPending, prefill

__all__ = ["MAX_BYTES", "MAX_REQUESTS", "PROVIDERS", "BatchPending", "prefill", "unbatchable"]
