"""A stand-in for the OpenAI Python SDK, for the documentation's snippets (DocSnippetsIT).

The real SDK is not installable here (no PyPI); this answers the calls the snippets make with objects
shaped like the SDK's own (ChatCompletion, ChatCompletionChunk: attributes, not dicts), without a network.
"""
from types import SimpleNamespace as _NS

__all__ = ["OpenAI"]


def _usage(prompt, completion):
    return _NS(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
               prompt_tokens_details=_NS(cached_tokens=0), completion_tokens_details=_NS(reasoning_tokens=0))


class _Completions:
    def create(self, model, messages, stream=False, stream_options=None, **kwargs):
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages) + 8
        if stream:
            return self._stream(model, prompt, bool(stream_options and stream_options.get("include_usage")))
        message = _NS(role="assistant", content="Hello!", tool_calls=None)
        return _NS(id="chatcmpl-snippet", object="chat.completion", model=model,
                   choices=[_NS(index=0, message=message, finish_reason="stop")], usage=_usage(prompt, 3))

    @staticmethod
    def _stream(model, prompt, include_usage):
        for word in ("Hel", "lo", "!"):
            yield _NS(object="chat.completion.chunk", model=model, usage=None,
                      choices=[_NS(index=0, delta=_NS(content=word, tool_calls=None), finish_reason=None)])
        if include_usage:
            yield _NS(object="chat.completion.chunk", model=model, choices=[], usage=_usage(prompt, 3))


class OpenAI:
    def __init__(self, **kwargs):
        self.chat = _NS(completions=_Completions())
