"""Calls in other languages and as recorders really write them, made with espeak-ng: a Russian
and a Czech call in which the customer reads out a card number in words, and an English call
written as dual-mono stereo (one voice copied to both channels) and with a silent agent channel;
and (``write_other_calls``) a billing call in German, French, Spanish and Turkish, stereo and mono;
and (``write_mixed_call``) a call that goes from English into one of those.

``python -m samples.languages DIR`` writes them to DIR (the tests write them to a temporary
folder). Every call's card number is ``CARD_NUMBER`` (a test Visa number: it passes the Luhn
check), read in words: in groups of four in Russian, one digit at a time in Czech.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samples.synth import Turn, Voices, add_line_noise, lay_out, write_audio

RATE = 16_000  # Hz of the written recordings
CARD_NUMBER = "4539148803436467"

# The voices whisper-base tells the language of best (docs/scoring.md: "Channels and languages"); it
# transcribes little of espeak-ng's Russian or Czech right at any voice or speed.
VOICES: dict[str, Voices] = {
    "ru": {"agent": ("ru", 175, 45), "customer": ("ru+m2", 175, 60)},
    "cs": {"agent": ("cs", 175, 45), "customer": ("cs+m3", 175, 60)},
}
DIGIT_WORDS = {
    "ru": ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
    "cs": ("nula", "jedna", "dva", "tři", "čtyři", "pět", "šest", "sedm", "osm", "devět"),
}


def spoken_card(language: str, *, one_by_one: bool = False) -> str:
    """``CARD_NUMBER`` in ``language``'s digit words: groups of four separated by commas, or
    (``one_by_one``) every digit on its own."""
    words = DIGIT_WORDS[language]
    if one_by_one:
        return ", ".join(words[int(d)] for d in CARD_NUMBER)
    groups = [CARD_NUMBER[i:i + 4] for i in range(0, len(CARD_NUMBER), 4)]
    return ", ".join(" ".join(words[int(d)] for d in group) for group in groups)


# Who says what in each language's call; {card} is the card number in that language's words.
LINES: dict[str, tuple[str, ...]] = {
    "ru": ("Здравствуйте, банк Северный, меня зовут Анна. Чем могу помочь?",
           "Добрый день. Я хочу заблокировать карту, её украли вчера вечером.",
           "Понимаю. Назовите, пожалуйста, номер карты.",
           "Номер карты {card}.",
           "Спасибо. Карта заблокирована. Новую карту вы получите через пять дней.",
           "Отлично, это всё, спасибо.",
           "Всего доброго, до свидания."),
    "cs": ("Dobrý den, banka Sever, u telefonu Jana. Jak vám mohu pomoci?",
           "Dobrý den, chtěl bych zablokovat kartu, včera mi ji ukradli.",
           "Rozumím. Řekněte mi prosím číslo karty.",
           "Číslo karty je {card}.",
           "Děkuji. Karta je zablokovaná. Novou kartu dostanete do pěti dnů.",
           "Výborně, to je všechno, děkuji.",
           "Na shledanou."),
}


# A billing call in languages an English-only model does not know (bench/english_check.py).
OTHER_LINES: dict[str, tuple[str, ...]] = {
    "de": ("Guten Tag, Stadtwerke Nord, mein Name ist Anna. Wie kann ich Ihnen helfen?",
           "Guten Tag, ich möchte meine Rechnung verstehen, sie ist diesen Monat viel höher.",
           "Das verstehe ich. Nennen Sie mir bitte Ihre Kundennummer.",
           "Meine Kundennummer ist vier fünf drei neun eins vier.",
           "Danke. Der Zählerstand wurde geschätzt, ich korrigiere das sofort.",
           "Wunderbar, vielen Dank.", "Auf Wiederhören."),
    "fr": ("Bonjour, société Nord énergie, je m'appelle Claire. Comment puis-je vous aider?",
           "Bonjour, je voudrais comprendre ma facture, elle est beaucoup plus élevée ce mois-ci.",
           "Je comprends. Donnez-moi votre numéro de client, s'il vous plaît.",
           "Mon numéro de client est quatre cinq trois neuf.",
           "Merci. Le relevé a été estimé, je le corrige tout de suite.",
           "Parfait, merci beaucoup.", "Au revoir, bonne journée."),
    "es": ("Buenos días, energía del norte, me llamo Lucía. ¿En qué puedo ayudarle?",
           "Buenos días, quiero entender mi factura, este mes es mucho más alta.",
           "Lo entiendo. Dígame su número de cliente, por favor.",
           "Mi número de cliente es cuatro cinco tres nueve.",
           "Gracias. La lectura fue estimada, la corrijo ahora mismo.",
           "Perfecto, muchas gracias.", "Adiós, buen día."),
    "tr": ("Merhaba, Kuzey enerji, benim adım Ayşe. Size nasıl yardımcı olabilirim?",
           "Merhaba, faturamı anlamak istiyorum, bu ay çok daha yüksek.",
           "Anlıyorum. Müşteri numaranızı söyler misiniz?",
           "Müşteri numaram dört beş üç dokuz.",
           "Teşekkürler. Okuma tahmin edilmiş, hemen düzeltiyorum.",
           "Harika, çok teşekkürler.", "Hoşça kalın."),
}


def script(language: str) -> list[Turn]:
    """A short card-blocking call in ``language`` (ru or cs): the agent speaks first, then they
    take turns."""
    card = spoken_card(language, one_by_one=language == "cs")
    return [Turn("agent" if i % 2 == 0 else "customer", line.format(card=card))
            for i, line in enumerate(LINES[language])]


ENGLISH = [
    Turn("agent", "Thank you for calling Northwind Energy, this is Sam. How can I help you today?"),
    Turn("customer", "Hi, I would like to check the balance on my account please."),
    Turn("agent", "Of course. Your balance is forty two pounds, due at the end of the month."),
    Turn("customer", "Great, thank you, that is all I needed."),
    Turn("agent", "You are welcome. Have a lovely day, goodbye."),
]


@dataclass(frozen=True)
class MadeCall:
    path: Path
    language: str  # what is spoken
    layout: str  # the channel layout it is written in (recordings.channel_layout)


def write_calls(folder: Path) -> list[MadeCall]:
    """Write every call of this module into ``folder``; what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for language in ("ru", "cs"):
        channels, _ = lay_out(script(language), RATE, voices=VOICES[language])
        path = folder / f"card-{language}.mp3"
        write_audio(path, add_line_noise(channels), RATE)
        made.append(MadeCall(path, language, "stereo"))
    channels, _ = lay_out(ENGLISH, RATE)
    one_voice = channels.sum(axis=0)
    write_audio(folder / "dual-mono.mp3", add_line_noise(np.stack([one_voice, one_voice])), RATE)
    made.append(MadeCall(folder / "dual-mono.mp3", "en", "dual_mono"))
    silent_agent = np.stack([np.zeros_like(one_voice), one_voice])  # both voices on the customer side
    write_audio(folder / "silent-agent.mp3", add_line_noise(silent_agent), RATE)
    made.append(MadeCall(folder / "silent-agent.mp3", "en", "silent_agent"))
    return made


def write_other_calls(folder: Path) -> list[MadeCall]:
    """Write ``OTHER_LINES``' calls into ``folder``: each language as a stereo call
    (``billing-de.mp3``) and as a mono one (``billing-de-mono.mp3``)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for language, lines in OTHER_LINES.items():
        turns = [Turn("agent" if i % 2 == 0 else "customer", line) for i, line in enumerate(lines)]
        voices = {"agent": (language, 165, 45), "customer": (f"{language}+m3", 165, 60)}
        channels, _ = lay_out(turns, RATE, voices=voices)
        write_audio(folder / f"billing-{language}.mp3", add_line_noise(channels), RATE)
        write_audio(folder / f"billing-{language}-mono.mp3", add_line_noise(channels.sum(axis=0)[None, :]), RATE)
        made += [MadeCall(folder / f"billing-{language}.mp3", language, "stereo"),
                 MadeCall(folder / f"billing-{language}-mono.mp3", language, "mono")]
    return made


def write_mixed_call(folder: Path, language: str = "es") -> MadeCall:
    """Write ``mixed-en-<language>.mp3`` into ``folder``: the English call, then the billing call
    of ``OTHER_LINES[language]`` (stereo, about 55 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    english, _ = lay_out(ENGLISH, RATE)
    turns = [Turn("agent" if i % 2 == 0 else "customer", line) for i, line in enumerate(OTHER_LINES[language])]
    other, _ = lay_out(turns, RATE, voices={"agent": (language, 165, 45), "customer": (f"{language}+m3", 165, 60)})
    path = folder / f"mixed-en-{language}.mp3"
    write_audio(path, add_line_noise(np.concatenate([english, other], axis=1)), RATE)
    return MadeCall(path, f"en+{language}", "stereo")


if __name__ == "__main__":
    for call in write_calls(Path(sys.argv[1] if len(sys.argv) > 1 else "samples/languages")):
        print(call.path, call.language, call.layout)
