"""Guessing a document's language, and keeping other languages' function words out of the vocabulary."""
from pipeline.language import guess_language
from pipeline.stories.features import lexical_terms

SAMPLES = {
    "en": "Replit's coding agent deleted a production database during a code freeze, and the founder said it "
          "had ignored the instructions it was given.",
    "de": "Der Programmieragent von Replit hat während eines Code-Freeze die Datenbank eines Unternehmens "
          "gelöscht, sagt der Gründer, und er habe die Anweisungen nicht beachtet.",
    "fr": "L'agent de programmation de Replit a supprimé la base de données d'une entreprise pendant un gel "
          "du code, selon le fondateur, qui dit que l'agent a ignoré les consignes.",
    "es": "El agente de programación de Replit borró la base de datos de una empresa durante una congelación "
          "del código, según su fundador, que dice que ignoró las instrucciones.",
    "it": "L'agente di programmazione di Replit ha cancellato il database di un'azienda durante il blocco del "
          "codice, secondo il fondatore, che dice che non ha rispettato le istruzioni.",
    "pt": "O agente de programação da Replit apagou a base de dados de uma empresa durante o congelamento do "
          "código, segundo o fundador, que diz que ignorou as instruções.",
    "nl": "De programmeeragent van Replit heeft tijdens een code freeze de database van een bedrijf "
          "verwijderd, zegt de oprichter, en hij heeft de instructies niet gevolgd.",
    "ja": "Replitのコーディングエージェントが、コードフリーズ中に本番データベースを削除したと創業者が明らかにした。",
    "ru": "Агент Replit удалил рабочую базу данных компании во время заморозки кода, сообщил основатель.",
}


def test_each_language_is_recognised_by_its_words_or_script():
    assert {lang: guess_language(text) for lang, text in SAMPLES.items()} == {lang: lang for lang in SAMPLES}


def test_too_little_text_is_not_guessed():
    assert guess_language("Google Photos labels black people as gorillas") is None
    assert guess_language("Jason Lemkin, SaaStr, Replit, 2025") is None
    assert guess_language("") is None and guess_language(None) is None


def test_function_words_of_the_documents_language_are_not_vocabulary():
    german = lexical_terms("Der Agent und die Datenbank", SAMPLES["de"], lang="de")
    assert not {"der", "die", "und", "von", "eines"} & set(german)
    assert {"replit", "datenbank", "agent"} <= set(german)
    # ... while an English "door" or "van" stays a word in English text.
    english = lexical_terms("The van at the door", "A van blocked the door.", lang="en")
    assert {"van", "door"} <= set(english)
