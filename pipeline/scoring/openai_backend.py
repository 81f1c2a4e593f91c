"""The LLM on a shared server that speaks the OpenAI chat-completions API with structured
output (llama.cpp's ``llama-server``, vLLM, Ollama, llama-cpp-python's server): many workers
score against one GPU this way, ``llm_concurrency`` requests at a time each.

Every answer is constrained by a JSON schema (the answer form's, for line evidence) sent as
``response_format``; the server's structured-output engine writes the fixed tokens. Two forms:
1. ``{"type": "json_object", "schema": ...}`` when the server is llama-cpp-python's (recognised
   by its ``/extras/tokenize`` endpoint), which rejects the other form;
2. otherwise ``{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`` (the
   OpenAI form: vLLM, Ollama, llama.cpp's server); if the server rejects that with an error that
   names ``response_format``, form 1 is used from then on.

Confidence: from ``logprobs`` (top 5 per token), where the server returns them: the token that
starts each verdict value is found and the permitted answers' probabilities read from its
alternatives. Without logprobs the confidence is unknown (None), never invented.

Errors: a server unreachable, answering 5xx or 429, or not done by the request's deadline
(``timeout_s`` after sending, however the bytes trickle) raises ``TransientRecordingError``
(stage ``score``: a retry may succeed); other 4xx ``PermanentRecordingError``. At start-up
the server must list the model named (``GET /models``), else ``ModelError``: the run stops.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Any, Sequence

import httpx

from pipeline.errors import ModelError, PermanentRecordingError, TransientRecordingError
from pipeline.stopping import check_stop
from pipeline.scoring.backend import VERDICT_KEY, Generation
from pipeline.scoring.form import AnswerForm

log = logging.getLogger(__name__)

TIMEOUT_S = 180.0  # one request in all, queueing behind other workers' generations included (llm_timeout_s)
CHECK_TIMEOUT_S = 30.0  # the start-up questions (GET /models, tokenize)
CONNECT_TIMEOUT_S = 10.0  # to open a connection to the server
TOP_LOGPROBS = 5  # alternatives asked for at each output token
CHARS_PER_TOKEN = 3  # estimate when the server cannot count tokens: more tokens than usual text has

_JSON_SCHEMA, _JSON_OBJECT = "json_schema", "json_object"  # the two response_format forms

# Token-counting endpoints, tried in this order at construction: (server, path from the server
# root, request body). The first that answers with tokens counts every text after.
_TOKENIZERS: tuple[tuple[str, str, Any], ...] = (
    ("llama-cpp-python", "/extras/tokenize", lambda text, model: {"input": text}),
    ("llama.cpp", "/tokenize", lambda text, model: {"content": text}),
    ("vllm", "/tokenize", lambda text, model: {"model": model, "prompt": text, "add_special_tokens": False}),
)


class _DeadlinePassed(Exception):
    """A request's answer was still coming in at its deadline."""

def _detail(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _timeout(timeout_s: float) -> httpx.Timeout:
    return httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))


def _list_models(client: httpx.Client, base_url: str) -> list[str]:
    """The model names ``GET {base_url}/models`` lists; ``ModelError`` when it cannot."""
    try:
        response = client.get(f"{base_url}/models")
    except httpx.HTTPError as exc:
        raise ModelError(f"cannot reach the LLM server at {base_url}: {_detail(exc)}") from exc
    if response.status_code in (401, 403):
        raise ModelError(
            f"the LLM server at {base_url} refused the API key (HTTP {response.status_code}): "
            "set llm_api_key (CALLSCORE_LLM_API_KEY)"
        )
    if response.status_code != 200:
        raise ModelError(
            f"cannot reach the LLM server at {base_url}: GET /models answered HTTP {response.status_code}"
            " (is llm_url the server's OpenAI base URL, e.g. http://HOST:8000/v1?)"
        )
    try:
        return [str(entry["id"]) for entry in response.json().get("data", [])]
    except (ValueError, AttributeError, KeyError, TypeError) as exc:
        raise ModelError(
            f"cannot reach the LLM server at {base_url}: GET /models did not answer an OpenAI model list"
        ) from exc


def server_model(base_url: str, *, api_key: str | None = None, wanted: str | None = None,
                 timeout_s: float = CHECK_TIMEOUT_S) -> str:
    """The model to ask the server at ``base_url`` for: ``wanted``, which the server must list
    (or list nothing), else the first it lists (its default). ``ModelError`` when it cannot answer."""
    base_url = base_url.rstrip("/")
    with httpx.Client(headers=_headers(api_key), timeout=_timeout(timeout_s)) as client:
        return _chosen_model(base_url, _list_models(client, base_url), wanted)


def _chosen_model(base_url: str, models: list[str], wanted: str | None) -> str:
    if wanted is None:
        if not models:
            raise ModelError(f"the LLM server at {base_url} lists no models (GET /models)")
        return models[0]
    if models and wanted not in models and f"{wanted}:latest" not in models:
        raise ModelError(f"the LLM server at {base_url} has no model {wanted!r} (it lists: {', '.join(models)})")
    return wanted


def _error_text(response: httpx.Response, *, whole: bool = False) -> str:
    """A server's error message (OpenAI shape ``{"error": {"message"}}`` or any body): its first
    line, or ``whole``."""
    try:
        error = response.json().get("error", response.text)
        text = error.get("message", str(error)) if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        text = response.text
    return text if whole else (text.strip().splitlines() or ["(no message)"])[0][:300]


# An error that says the server does not take the json_schema form of response_format (for
# llama-cpp-python's server: "Input should be 'text' or 'json_object'" at response_format.type).
_FORM_REJECTED = re.compile(r"json_object|response_format.{0,80}(type|support)|(unsupported|unknown).{0,40}json_schema",
                            re.IGNORECASE | re.DOTALL)


def _server_root(base_url: str) -> str:
    """``http://host:8000/v1`` -> ``http://host:8000``: where the non-OpenAI endpoints live."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def _option_of(token: str, options: Sequence[str]) -> str | None:
    """The one option a verdict value starting with ``token`` can be, or None (none or several)."""
    value = token.split('"', 1)[0]  # a token may run on past the closing quote: 'no"'
    if not value:
        return None
    matches = [option for option in options if option.startswith(value)]
    return matches[0] if len(matches) == 1 else None


def choice_probabilities(
    content: Sequence[dict[str, Any]],
    *,
    key: str = VERDICT_KEY,
    options: Sequence[str] = ("yes", "no", "na"),
    top_logprobs: int = TOP_LOGPROBS,
) -> tuple[dict[str, float], ...]:
    """Per occurrence of ``key`` in the output, in output order: option -> probability the model
    gave a first token of that option where the verdict value starts (0-1, over the whole
    vocabulary as the server reports it), from OpenAI-style ``logprobs.content``.

    The value starts in a token of its own after the opening quote, or in one that carries the
    quote too (``"yes``); a token that could start several options (``n``) is not counted. An
    option missing from a full list of ``top_logprobs`` alternatives counts at the lowest listed
    probability (at most that), so its confidence is a lower bound; from a shorter list (the
    server masked the rest) it counts as 0. An occurrence where no option is read gets ``{}``.
    """
    after_quote = re.compile(r'"' + re.escape(key) + r'"\s*:\s*"$')
    before_quote = re.compile(r'"' + re.escape(key) + r'"\s*:\s*$')
    opening_quote = re.compile(r'^\s*"')
    text = ""
    records: dict[int, dict[str, float]] = {}
    for item in content:
        token = str(item.get("token") or "")
        tail = text[-96:]
        if after_quote.search(tail):
            strip = False
        elif before_quote.search(tail) and opening_quote.match(token) and opening_quote.sub("", token):
            strip = True  # the quote and the start of the value are one token
        else:
            text += token
            continue
        alternatives = {str(a.get("token") or ""): a.get("logprob") for a in item.get("top_logprobs") or ()}
        alternatives.setdefault(token, item.get("logprob"))
        found: dict[str, float] = {}
        listed: list[float] = []
        for candidate, logprob in alternatives.items():
            if logprob is None:
                continue
            probability = math.exp(float(logprob)) if logprob > -math.inf else 0.0
            listed.append(probability)
            if strip:
                if not opening_quote.match(candidate):
                    continue
                candidate = opening_quote.sub("", candidate)
            option = _option_of(candidate, options)
            if option is not None:
                found[option] = found.get(option, 0.0) + probability
        if found:
            floor = min(listed) if len(item.get("top_logprobs") or ()) >= top_logprobs else 0.0
            occurrence = text.count(f'"{key}"') - 1
            records[occurrence] = {option: min(1.0, found.get(option, floor)) for option in options}
        text += token
    count = max(records, default=-1) + 1
    return tuple(records.get(i, {}) for i in range(count))


class OpenAIBackend:
    """A chat model on an OpenAI-compatible server. One per process; requests are independent,
    so any number of workers can share the server."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        n_ctx: int = 4096,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        """``base_url``: the server's OpenAI base, e.g. ``http://gpu-1:8000/v1``; ``model``: the
        name the server knows (default: the first it lists); ``n_ctx``: tokens one request may
        use (prompt and answer), which must not exceed what the server gives a request;
        ``timeout_s``: seconds one request may take, queueing included."""
        self.base_url = base_url.rstrip("/")
        self.n_ctx = n_ctx
        self.timeout_s = timeout_s
        self._client = httpx.Client(headers=_headers(api_key), timeout=_timeout(min(timeout_s, CHECK_TIMEOUT_S)))
        try:
            model = _chosen_model(self.base_url, _list_models(self._client, self.base_url), model)
        except ModelError:
            self._client.close()
            raise
        self.model = model
        self.name = f"openai:{model}"
        self._tokenizer = self._find_tokenizer()
        self.server_kind = self._tokenizer[0] if self._tokenizer else "openai"
        self._format = _JSON_OBJECT if self.server_kind == "llama-cpp-python" else _JSON_SCHEMA
        self._logprobs = True
        if self._tokenizer is None:
            log.info("the LLM server at %s cannot count tokens: estimating 1 per %d characters",
                     self.base_url, CHARS_PER_TOKEN)

    def close(self) -> None:
        self._client.close()

    # -- requests ----------------------------------------------------------------------------

    def _send(self, url: str, body: dict[str, Any]) -> httpx.Response:
        """POST, the whole answer read by a deadline ``timeout_s`` away; a server gone or too slow
        is a transient failure. The request runs in a daemon thread, so the wait ends at the
        deadline even while a read blocks, and Ctrl-C or exit never wait for that thread."""
        deadline = time.monotonic() + self.timeout_s
        outcome: dict[str, Any] = {}

        def post() -> None:
            try:
                outcome["response"] = self._post_by(url, body, deadline)
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc

        worker = threading.Thread(target=post, name="llm-request", daemon=True)
        worker.start()
        while worker.is_alive() and time.monotonic() < deadline:
            worker.join(min(0.25, max(0.0, deadline - time.monotonic())))
            check_stop()  # a stop asked for does not wait for the server
        try:
            if worker.is_alive():
                raise _DeadlinePassed()
            if "error" in outcome:
                raise outcome["error"]
            return outcome["response"]
        except _DeadlinePassed as exc:
            raise TransientRecordingError(
                f"the LLM server at {self.base_url} had not answered in full after {self.timeout_s:g} s "
                "(llm_timeout_s)", stage="score",
            ) from exc
        except httpx.TimeoutException as exc:
            raise TransientRecordingError(
                f"the LLM server at {self.base_url} timed out ({_detail(exc)})", stage="score"
            ) from exc
        except httpx.TransportError as exc:  # refused, reset, dropped mid-answer, name lookup
            raise TransientRecordingError(
                f"the LLM server at {self.base_url} did not answer (connection refused, reset or "
                f"dropped: {_detail(exc)})", stage="score",
            ) from exc

    def _post_by(self, url: str, body: dict[str, Any], deadline: float) -> httpx.Response:
        """POST and read the answer's bytes as they come, giving up once ``deadline`` (monotonic s) passed."""
        with self._client.stream("POST", url, json=body, timeout=_timeout(self.timeout_s)) as response:
            raw = bytearray()
            for chunk in response.iter_raw():
                raw += chunk
                if time.monotonic() > deadline:
                    raise _DeadlinePassed()
            return httpx.Response(response.status_code, headers=response.headers, content=bytes(raw),
                                  request=response.request)

    def _failure(self, response: httpx.Response, what: str) -> Exception:
        """429 and 5xx: transient (the server is overloaded or failing); other 4xx: permanent."""
        message = _error_text(response)
        if response.status_code == 429 or response.status_code >= 500:
            return TransientRecordingError(
                f"the LLM server at {self.base_url} answered HTTP {response.status_code} to {what} "
                f"(server is busy or failing): {message}", stage="score",
            )
        return PermanentRecordingError(
            f"the LLM server at {self.base_url} refused {what} (HTTP {response.status_code}: {message})",
            stage="score",
        )

    def _find_tokenizer(self) -> tuple[str, str, Any] | None:
        root = _server_root(self.base_url)
        for kind, path, body in _TOKENIZERS:
            try:
                response = self._client.post(root + path, json=body("callscore", self.model))
                if response.status_code == 200 and response.json().get("tokens"):
                    return kind, root + path, body
            except (httpx.HTTPError, ValueError, AttributeError):
                continue
        return None

    def _response_format(self, schema: dict) -> dict[str, Any]:
        if self._format == _JSON_OBJECT:
            return {"type": "json_object", "schema": schema}
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "answer"))[:64]
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}

    def _complete(self, body: dict[str, Any], schema: dict) -> httpx.Response:
        """POST a chat completion. Where the server rejects a part it does not take (the
        ``json_schema`` form, logprobs), ask again without it, and remember for later calls."""
        url = f"{self.base_url}/chat/completions"
        while True:
            response = self._send(url, body)
            if response.status_code < 400:
                return response
            message = _error_text(response, whole=True)
            if self._format == _JSON_SCHEMA and _FORM_REJECTED.search(message):
                log.warning("the LLM server at %s does not take the json_schema response format: "
                            "sending json_object with the schema", self.base_url)
                self._format = _JSON_OBJECT
                body = {**body, "response_format": self._response_format(schema)}
            elif "logprobs" in body and "logprob" in message.lower():
                log.warning("the LLM server at %s gives no logprobs: confidence is unknown", self.base_url)
                self._logprobs = False
                body = {k: v for k, v in body.items() if k not in ("logprobs", "top_logprobs")}
            else:
                raise self._failure(response, "a chat completion request")

    # -- the ScoringBackend protocol ---------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the prompt: counted by the server where it has a tokenize
        endpoint, else estimated as 1 per ``CHARS_PER_TOKEN`` characters (rounded up)."""
        if self._tokenizer is None:
            return -(-len(text) // CHARS_PER_TOKEN)
        _, url, body = self._tokenizer
        response = self._send(url, body(text, self.model))
        if response.status_code != 200:
            raise self._failure(response, "a tokenize request")
        try:
            return len(response.json()["tokens"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentRecordingError(
                f"the LLM server at {self.base_url} answered a token count in an unknown shape", stage="score"
            ) from exc

    def generate_json(
        self,
        messages: list[dict[str, str]],
        schema: dict,
        *,
        max_tokens: int,
        choice_options: Sequence[str] = ("yes", "no", "na"),
    ) -> Generation:
        """Greedy generation constrained to ``schema``; probabilities read at each verdict where
        the server gives logprobs (else the tables are empty)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "response_format": self._response_format(schema),
        }
        if self.server_kind == "llama-cpp-python":
            body["repeat_penalty"] = 1.0  # its default (1.1) would bend answers away from the in-process ones
        if self._logprobs:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        response = self._complete(body, schema)
        try:
            answer = response.json()
            choice = answer["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise PermanentRecordingError(
                f"the LLM server at {self.base_url} answered something that is not a chat completion",
                stage="score",
            ) from exc
        content = (choice.get("logprobs") or {}).get("content") or ()
        usage = answer.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")  # servers that report it
        return Generation(
            text=text,
            choice_probabilities=choice_probabilities(content, options=choice_options) if content else (),
            prompt_tokens=prompt_tokens,
            completion_tokens=int(usage.get("completion_tokens") or 0),
            evaluated_prompt_tokens=prompt_tokens - int(cached) if isinstance(cached, int) else None,
        )

    def fill_form(self, messages: list[dict[str, str]], form: AnswerForm, *, max_tokens: int) -> Generation:
        """The form's schema in ``response_format`` (SGLang's jump-forward skips its fixed tokens)."""
        return self.generate_json(messages, form.schema(), max_tokens=max_tokens)
