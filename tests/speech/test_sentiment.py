"""Sentiment per speaker per quarter (VADER, English only) and the customer's change over the call."""

from __future__ import annotations

from pipeline.speech.metrics import compute_metrics
from pipeline.speech.segments import Segment
from pipeline.speech.sentiment import measure_sentiment
from tests.factories import seg


def _call(lines: list[tuple[str, str]], gap: float = 4.0) -> list[Segment]:
    return [seg(speaker, i * gap, i * gap + gap - 0.5, text) for i, (speaker, text) in enumerate(lines)]


ANGRY_TO_THANKFUL = _call([
    ("customer", "This is terrible. I am furious, my bill is wrong again and I hate waiting."),
    ("agent", "Thank you for calling Northwind Energy, this is Sam. I'm sorry to hear that."),
    ("customer", "It is awful, the worst service, I am angry."),
    ("agent", "Let me look at your account."),
    ("customer", "Fine."),
    ("agent", "I have corrected the charge and refunded it."),
    ("customer", "Oh great, thank you so much, that is wonderful, I really appreciate it."),
    ("agent", "You're welcome, have a good day."),
])


def test_an_angry_start_and_thankful_end_is_a_positive_change() -> None:
    metrics = compute_metrics(ANGRY_TO_THANKFUL, language="en")
    assert metrics is not None and metrics.customer is not None and metrics.sentiment is not None
    assert metrics.customer.sentiment_first < -0.3 < 0.3 < metrics.customer.sentiment_last
    assert metrics.customer.sentiment_change == round(metrics.customer.sentiment_last - metrics.customer.sentiment_first, 4)
    quarters = {(q.speaker, q.quarter) for q in metrics.sentiment.quarters}
    assert ("customer", 1) in quarters and ("customer", 4) in quarters
    assert all(-1 <= q.sentiment <= 1 and q.words > 0 for q in metrics.sentiment.quarters)


def test_the_reverse_call_is_a_negative_change() -> None:
    reverse = _call([(speaker, text) for speaker, text in reversed([(s.speaker, s.text) for s in ANGRY_TO_THANKFUL])])
    metrics = compute_metrics(reverse, language="en")
    assert metrics is not None and metrics.customer is not None
    assert metrics.customer.sentiment_change is not None and metrics.customer.sentiment_change < -0.6


def test_another_language_or_none_is_not_measured_and_says_why() -> None:
    russian = compute_metrics(_call([("customer", "Это ужасно"), ("agent", "Спасибо")]), language="ru")
    assert russian is not None and russian.customer is not None and russian.customer.sentiment_change is None
    assert russian.sentiment is not None and "'ru'" in (russian.sentiment.note or "")
    assert measure_sentiment(ANGRY_TO_THANKFUL, None).note == "sentiment not measured: the call's language is not known"


def test_a_mono_call_has_the_unknown_speakers_quarters_and_no_customer_figures() -> None:
    mono = [seg("unknown", s.start, s.end, s.text) for s in ANGRY_TO_THANKFUL]
    metrics = compute_metrics(mono, language="en")
    assert metrics is not None and metrics.customer is None and metrics.sentiment is not None
    assert {q.speaker for q in metrics.sentiment.quarters} == {"unknown"}
