"""Redaction in Russian, Czech and German: number words (digits, and the tens, teens and hundreds people
read numbers in), digit groups however the ASR writes them, spoken e-mail addresses, and what
stays (money, short numbers). The call's language picks the table; English is the default."""

from __future__ import annotations

import pytest

from pipeline.speech.number_words import TABLES, spoken_number
from pipeline.speech.redact import redact_segments, redact_text
from pipeline.speech.segments import Segment

CARD = "4539148803436467"  # a test Visa number (it passes the Luhn check)

REDACTED = [
    ("ru", "Номер карты четыре пять три девять, один четыре восемь восемь, ноль три четыре три, шесть четыре шесть семь.",
     "Номер карты [CARD]."),
    ("ru", "сорок пять тридцать девять, четырнадцать восемьдесят восемь, ноль три сорок три, шестьдесят четыре шестьдесят семь",
     "[CARD]"),
    ("ru", "карта 4539 1488 0343 6467", "карта [CARD]"),
    ("ru", "номер 4,5,3,9, 1,4,8,8, 0,3,4,3, 6,4,6,7", "номер [CARD]"),  # digit groups as the ASR writes them
    ("ru", "7,532, 1,2,3,1, 1,1,1,1, 2,2,2,2", "[NUMBER]"),
    ("ru", "номер договора семь пять три два один два", "номер договора [NUMBER]"),
    ("ru", "мой телефон восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь", "мой телефон [PHONE]"),
    ("ru", "пишите на иван точка петров собака яндекс точка ру", "пишите на [EMAIL]"),
    ("ru", "адрес anna.smirnova@mail.ru", "адрес [EMAIL]"),
    ("cs", "Číslo karty je čtyři pět tři devět, jedna čtyři osm osm, nula tři čtyři tři, šest čtyři šest sedm.",
     "Číslo karty je [CARD]."),
    ("cs", "číslo účtu je dvě stě třicet jedna, čtyři sta padesát šest", "číslo účtu je [NUMBER]"),
    ("cs", "můj e-mail je jan tečka novak zavináč seznam tečka cz", "můj e-mail je [EMAIL]"),
    ("cs", "telefon sedm set dvacet, čtyři sta padesát, šest sedm osm", "telefon [PHONE]"),
    # German: a phone number after its cue was masked as [NUMBER] (no German table)
    ("de", "Meine Telefonnummer ist 0176 23456789.", "Meine Telefonnummer ist [PHONE]."),
    ("de", "Sie erreichen mich unter 030 1234567.", "Sie erreichen mich unter [PHONE]."),
    ("de", "meine Handynummer null eins sieben sechs, zwei drei vier fünf sechs sieben acht", "meine Handynummer [PHONE]"),
    ("de", "Meine Kundennummer ist 4539 1488.", "Meine Kundennummer ist [NUMBER]."),
    ("de", "meine E-Mail ist max punkt muster at web punkt de", "meine E-Mail ist [EMAIL]"),
]
UNCHANGED = [
    ("ru", "это стоит пятьсот рублей, а доставка сто двадцать три рубля"),
    ("ru", "перезвоните через пять минут, у меня два вопроса"),
    ("ru", "сумма 12 450,75 рублей"),
    ("ru", "это всё, спасибо, до свидания"),
    ("cs", "stojí to dvě stě třicet korun"),
    ("cs", "o tom jsme mluvili, jedna dva tři"),  # "o" is a word in Czech, not a zero
    ("cs", "zaplatíte 1 250 Kč"),
    ("de", "Das kostet 49,90 Euro im Monat."),
    ("de", "Ich habe zwei Fragen und rufe in fünf Minuten an."),
]


@pytest.mark.parametrize(("language", "text", "expected"), REDACTED)
def test_numbers_and_addresses_spoken_in_the_call_language_are_masked(language: str, text: str, expected: str) -> None:
    assert redact_text(text, language=language).text == expected


@pytest.mark.parametrize(("language", "text"), UNCHANGED)
def test_money_short_numbers_and_ordinary_words_stay(language: str, text: str) -> None:
    assert redact_text(text, language=language).text == text


def test_the_call_language_picks_the_table() -> None:
    russian = REDACTED[0][1]
    assert redact_text(russian).text == russian  # English words only: nothing read as a number
    assert redact_text("card four five three nine one four eight eight oh three four three six four six seven",
                       language="ru").text.endswith("seven")  # a Russian call reads Russian words
    assert redact_text("one two three four five six seven", language="xx").text == "[PHONE]"  # no table: English


def test_a_number_read_across_segments_of_a_russian_call_is_masked_in_each() -> None:
    said = [Segment("customer", 1, 0.0, 2.0, "номер карты четыре пять три девять, один четыре", -0.2, 0.0, 1.0),
            Segment("agent", 0, 2.1, 2.5, "угу", -0.2, 0.0, 1.0),
            Segment("customer", 1, 2.6, 6.0, "восемь восемь, ноль три четыре три, шесть четыре шесть семь", -0.2, 0.0, 1.0)]
    redacted = redact_segments(said, language="ru")
    assert [s.text for s in redacted.segments] == ["номер карты [CARD]", "угу", "[CARD]"]
    assert redacted.counts == {"card": 1}


@pytest.mark.parametrize(("language", "spoken", "digits"), [
    ("ru", "сорок пять", "45"), ("ru", "сто пять", "105"), ("ru", "двести", "200"), ("ru", "одиннадцать", "11"),
    ("ru", "девятьсот девяносто девять", "999"), ("cs", "dvě stě třicet", "230"), ("cs", "čtyřicet", "40"),
    ("cs", "pět set sedm", "507"), ("en", "nine", "9"),
])
def test_spoken_numbers_read_as_their_digits(language: str, spoken: str, digits: str) -> None:
    assert spoken_number(language).digits(spoken) == digits


def test_every_table_reads_all_ten_digits() -> None:
    for language, table in TABLES.items():
        assert set(table.digits.values()) == set("0123456789"), language
