"""The words redaction reads numbers and e-mail addresses in, one table per language.

A language is added by adding a ``NumberWords`` table to ``TABLES``, with no code of its own:
the words for the digits (and, where people read numbers in pairs or threes, for the tens,
teens and hundreds, which combine as "сорок пять" -> 45, "dvě stě třicet" -> 230), the cue words
before an account or a phone number, the spoken "@", "." and separators of an e-mail address,
the money words after an amount, and whether a comma is the decimal mark. The call's language
(``pipeline.speech.language``) picks its table; English is used when the language is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

CUE_WINDOW_WORDS = 6  # words before a digit run or a dotted name searched for one of a table's cue words

@dataclass(frozen=True)
class NumberWords:
    """How numbers and e-mail addresses are spoken in one language (words in lower case)."""

    letters: str  # the letters of its words, as a regex character class body, e.g. "a-z"
    digits: dict[str, str]  # a spoken digit -> its digit ("four" -> "4")
    repeats: dict[str, int] = field(default_factory=dict)  # "double" -> 2: "double five" is "55"
    teens: dict[str, str] = field(default_factory=dict)  # 10-19 -> two digits
    tens: dict[str, str] = field(default_factory=dict)  # twenty..ninety -> first digit; a digit may follow
    hundreds: dict[str, str] = field(default_factory=dict)  # 100..900 -> first digit; tens or a digit may follow
    number_cues: frozenset[str] = frozenset()  # a word shortly before a run makes it an account-type number
    phone_cues: frozenset[str] = frozenset()  # ... makes it a phone number
    phone_cue_pairs: frozenset[tuple[str, str]] = frozenset()  # two words in a row that do the same
    email_at: tuple[str, ...] = ()  # the spoken "@"
    email_dot: tuple[str, ...] = ()  # the spoken "."
    email_separators: tuple[str, ...] = ()  # the spoken "_" and "-"
    email_cues: frozenset[str] = frozenset()  # a word shortly before a dotted name makes it an address
    top_level_domains: tuple[str, ...] = ()  # spoken domain endings besides any two letters
    money_after: tuple[str, ...] = ()  # words after an amount of money or a percentage
    decimal_comma: bool = False  # "7,5" is seven and a half: commas never group thousands


ENGLISH = NumberWords(
    letters="a-z",
    digits={"zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
            "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"},
    repeats={"double": 2, "triple": 3},
    number_cues=frozenset({
        "account", "acct", "policy", "order", "reference", "ref", "customer", "member", "membership", "invoice",
        "ticket", "case", "claim", "tracking", "booking", "confirmation", "serial", "id", "card", "pin", "passport",
        "licence", "license", "iban", "routing", "sort", "transaction", "contract", "meter", "registration",
        "postcode", "zip",
    }),
    phone_cues=frozenset({"phone", "mobile", "cell", "cellphone", "telephone", "landline", "tel", "whatsapp",
                          "callback", "extension", "fax"}),
    phone_cue_pairs=frozenset({
        ("call", "me"), ("ring", "me"), ("text", "me"), ("reach", "me"), ("call", "back"), ("my", "number"),
        ("your", "number"), ("contact", "number"), ("home", "number"), ("work", "number"),
    }),
    email_at=("at",),
    email_dot=("dot",),
    email_cues=frozenset({"email", "emails", "mail", "inbox"}),
    email_separators=("underscore", "dash", "hyphen"),
    top_level_domains=("com", "net", "org", "edu", "gov", "mil", "info", "biz", "io", "co", "me", "ai", "app", "dev",
                       "online"),
    money_after=("dollar", "dollars", "pound", "pounds", "euro", "euros", "quid", "bucks", "cent", "cents", "pence",
                 "percent", "usd", "gbp", "eur"),
)

RUSSIAN = NumberWords(
    letters="а-яёa-z",
    digits={"ноль": "0", "нуль": "0", "один": "1", "одна": "1", "одно": "1", "одну": "1", "два": "2", "две": "2",
            "три": "3", "четыре": "4", "пять": "5", "шесть": "6", "семь": "7", "восемь": "8", "девять": "9"},
    teens={"десять": "10", "одиннадцать": "11", "двенадцать": "12", "тринадцать": "13", "четырнадцать": "14",
           "пятнадцать": "15", "шестнадцать": "16", "семнадцать": "17", "восемнадцать": "18", "девятнадцать": "19"},
    tens={"двадцать": "2", "тридцать": "3", "сорок": "4", "пятьдесят": "5", "шестьдесят": "6", "семьдесят": "7",
          "восемьдесят": "8", "девяносто": "9"},
    hundreds={"сто": "1", "двести": "2", "триста": "3", "четыреста": "4", "пятьсот": "5", "шестьсот": "6",
              "семьсот": "7", "восемьсот": "8", "девятьсот": "9"},
    number_cues=frozenset({
        "карта", "карты", "карте", "карту", "картой", "счёт", "счет", "счёта", "счета", "счёту", "счету", "договор",
        "договора", "заказ", "заказа", "полис", "полиса", "паспорт", "паспорта", "лицевой", "лицевого", "номер",
        "номера", "пин", "код", "кода", "заявка", "заявки", "инн", "снилс",
    }),
    phone_cues=frozenset({"телефон", "телефона", "телефону", "мобильный", "мобильного", "сотовый", "сотового",
                          "перезвоните", "позвоните", "ватсап", "вотсап"}),
    phone_cue_pairs=frozenset({("мой", "номер"), ("ваш", "номер"), ("номер", "телефона"), ("контактный", "номер")}),
    email_at=("собака", "собачка", "эт"),
    email_dot=("точка",),
    email_cues=frozenset({"почта", "почту", "почты", "почте", "email", "имейл", "емейл", "мейл", "mail"}),
    email_separators=("подчёркивание", "подчеркивание", "дефис", "тире"),
    top_level_domains=("ру", "рф", "ком", "нет", "орг", "com", "net", "org", "info", "ru"),
    money_after=("рубль", "рубля", "рублей", "руб", "копейка", "копейки", "копеек", "доллар", "доллара",
                 "долларов", "евро", "процент", "процента", "процентов"),
    decimal_comma=True,
)

CZECH = NumberWords(
    letters="a-záčďéěíňóřšťúůýž",
    digits={"nula": "0", "jedna": "1", "jeden": "1", "jedno": "1", "dva": "2", "dvě": "2", "tři": "3",
            "čtyři": "4", "pět": "5", "šest": "6", "sedm": "7", "osm": "8", "devět": "9"},
    teens={"deset": "10", "jedenáct": "11", "dvanáct": "12", "třináct": "13", "čtrnáct": "14", "patnáct": "15",
           "šestnáct": "16", "sedmnáct": "17", "osmnáct": "18", "devatenáct": "19"},
    tens={"dvacet": "2", "třicet": "3", "čtyřicet": "4", "padesát": "5", "šedesát": "6", "sedmdesát": "7",
          "osmdesát": "8", "devadesát": "9"},
    hundreds={"sto": "1", "dvě stě": "2", "tři sta": "3", "čtyři sta": "4", "pět set": "5", "šest set": "6",
              "sedm set": "7", "osm set": "8", "devět set": "9"},
    number_cues=frozenset({
        "karta", "karty", "kartu", "kartě", "účet", "účtu", "účtem", "smlouva", "smlouvy", "smlouvě",
        "objednávka", "objednávky", "pojistka", "pojistky", "číslo", "čísla", "číslem", "pin", "kód", "kódu",
        "rodné", "pas", "pasu", "iban",
    }),
    phone_cues=frozenset({"telefon", "telefonu", "telefonní", "telefonního", "mobil", "mobilu", "mobilní",
                          "zavolejte", "volejte", "whatsapp"}),
    phone_cue_pairs=frozenset({("moje", "číslo"), ("vaše", "číslo"), ("kontaktní", "číslo")}),
    email_at=("zavináč",),
    email_dot=("tečka",),
    email_cues=frozenset({"email", "emailu", "emailem", "mail", "mailu", "mailem", "pošta", "poštu"}),
    email_separators=("podtržítko", "pomlčka", "spojovník"),
    top_level_domains=("cz", "sk", "eu", "com", "net", "org", "cé zet"),
    money_after=("koruna", "koruny", "korun", "kč", "euro", "eur", "dolar", "dolary", "dolarů", "procento",
                 "procenta", "procent"),
    decimal_comma=True,
)

# German joins units and tens in one word ("einundzwanzig"): only digits and teens are read as
# words; Whisper writes most German numbers in digits, which every table reads.
GERMAN = NumberWords(
    letters="a-zäöüß",
    digits={"null": "0", "eins": "1", "ein": "1", "eine": "1", "zwei": "2", "zwo": "2", "drei": "3", "vier": "4",
            "fünf": "5", "sechs": "6", "sieben": "7", "acht": "8", "neun": "9"},
    teens={"zehn": "10", "elf": "11", "zwölf": "12", "dreizehn": "13", "vierzehn": "14", "fünfzehn": "15",
           "sechzehn": "16", "siebzehn": "17", "achtzehn": "18", "neunzehn": "19"},
    number_cues=frozenset({
        "kundennummer", "vertragsnummer", "konto", "kontonummer", "iban", "karte", "kartennummer", "rechnungsnummer",
        "bestellnummer", "auftragsnummer", "zählernummer", "zählerstand", "nummer", "pin", "kennwort", "ausweis",
        "ausweisnummer", "postleitzahl", "plz", "referenz", "aktenzeichen", "vorgangsnummer",
    }),
    phone_cues=frozenset({"telefon", "telefonnummer", "rufnummer", "handy", "handynummer", "mobil", "mobilnummer",
                          "festnetz", "festnetznummer", "rückruf", "rückrufnummer", "durchwahl", "whatsapp", "fax"}),
    phone_cue_pairs=frozenset({("meine", "nummer"), ("ihre", "nummer"), ("mich", "unter"), ("erreichen", "unter"),
                               ("zurückrufen", "unter")}),
    email_at=("at", "ät"),
    email_dot=("punkt",),
    email_cues=frozenset({"email", "e-mail", "mail", "mailadresse", "emailadresse", "e-mail-adresse"}),
    email_separators=("unterstrich", "bindestrich", "minus"),
    top_level_domains=("de", "at", "ch", "eu", "com", "net", "org", "info"),
    money_after=("euro", "eur", "cent", "franken", "chf", "dollar", "prozent"),
    decimal_comma=True,
)

TABLES: dict[str, NumberWords] = {"en": ENGLISH, "ru": RUSSIAN, "cs": CZECH, "de": GERMAN}


def table_for(language: str | None) -> NumberWords:
    """The table of ``language`` (a Whisper language code); English when there is none for it."""
    return TABLES.get(language or "en", ENGLISH)


def alternatives(words: object) -> str:
    """A regex alternation of ``words``, longest first, spaces matching any whitespace."""
    ordered = sorted(words, key=len, reverse=True)  # type: ignore[call-overload]
    return "|".join(r"\s+".join(map(re.escape, word.split())) for word in ordered)


@dataclass(frozen=True)
class SpokenNumber:
    """The pattern of one spoken number in a table and the digits it reads as."""

    table: NumberWords
    pattern: str  # regex (no groups) of one spoken number: a digit, or tens/teens/hundreds combined

    def digits(self, spoken: str) -> str:
        """The digits of a spoken number that ``pattern`` matched ("сорок пять" -> "45")."""
        words = " ".join(spoken.lower().split())
        table = self.table
        hundred = next((h for h in sorted(table.hundreds, key=len, reverse=True)
                        if words == h or words.startswith(h + " ")), None)
        head = table.hundreds[hundred] if hundred else ""
        rest = words[len(hundred):].strip() if hundred else words
        if not rest:
            return head + "00"
        parts = rest.replace("-", " ").split()
        if parts[0] in table.teens:
            return head + table.teens[parts[0]]
        if parts[0] in table.tens:
            return head + table.tens[parts[0]] + (table.digits[parts[1]] if len(parts) > 1 else "0")
        return head + ("0" if head else "") + table.digits[parts[0]]


@lru_cache(maxsize=None)
def spoken_number(language: str | None) -> SpokenNumber:
    """The ``SpokenNumber`` of ``language``'s table."""
    table = table_for(language)
    unit = f"(?:{alternatives(table.digits)})"
    if not table.tens:
        return SpokenNumber(table, unit)
    tens, teens = f"(?:{alternatives(table.tens)})", f"(?:{alternatives(table.teens)})"
    below_hundred = rf"(?:{tens}(?:[\s-]+{unit})?|{teens}|{unit})"
    hundreds = f"(?:{alternatives(table.hundreds)})"
    return SpokenNumber(table, rf"(?:{hundreds}(?:\s+{below_hundred})?|{below_hundred})")
