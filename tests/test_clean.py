"""Cleaning rules, each with a real-looking example."""

from __future__ import annotations

import pytest

from newswire.extract.clean import PageHints, clean_text
from newswire.text import normalise

SHAFAQ_DATELINES = (
    r"^Shafaq News(?: Agency)?\s*/\s*",
    r"^Shafaq News(?: Agency)?\s*[–—-]\s*[A-Z][\w'’-]+(?:\s*[/:–—-]\s*|\s+(?=[A-Z]))",
)
JPOST_TRAILERS = (r"As reported by The Jerusalem Post\.?",)


def test_photo_caption_with_credit_is_dropped_even_when_printed_twice() -> None:
    text = (
        "Shi'ite fighters advance towards the town, October 3, 2026 (photo credit: REUTERS/STRINGER)\n"
        "Shi’ite fighters advance towards the town, October 3, 2026 (photo credit: REUTERS/STRINGER)\n"
        "Explosions were heard near the crossing on Monday evening."
    )
    assert clean_text(text) == "Explosions were heard near the crossing on Monday evening."


def test_shafaq_slash_dateline_is_removed() -> None:
    text = "Shafaq News/ On Wednesday, explosions were heard in al-Bukamal."
    assert clean_text(text, datelines=SHAFAQ_DATELINES) == (
        "On Wednesday, explosions were heard in al-Bukamal."
    )


def test_shafaq_city_dateline_is_removed() -> None:
    text = "Shafaq News – Baghdad A rocket landed near the Green Zone."
    assert clean_text(text, datelines=SHAFAQ_DATELINES) == "A rocket landed near the Green Zone."
    text = "Shafaq News - Erbil/ The Kurdistan Region's cabinet met on Sunday."
    assert clean_text(text, datelines=SHAFAQ_DATELINES) == (
        "The Kurdistan Region's cabinet met on Sunday."
    )


def test_dateline_rule_leaves_a_sentence_that_merely_names_the_outlet() -> None:
    text = "A source told Shafaq News/ that the talks had stalled."
    assert clean_text(text, datelines=SHAFAQ_DATELINES) == text


def test_trailer_is_removed_alone_or_attached_to_the_last_paragraph() -> None:
    alone = "Militias have been on high alert.\nAs reported by The Jerusalem Post"
    assert clean_text(alone, trailers=JPOST_TRAILERS) == "Militias have been on high alert."
    attached = "Militias have been on high alert. As reported by The Jerusalem Post"
    assert clean_text(attached, trailers=JPOST_TRAILERS) == "Militias have been on high alert."


def test_related_link_lines_are_dropped() -> None:
    text = (
        "The crossing reopened on Sunday.\n"
        "Read also: Al-Qaim border crossing reopens after three-week closure\n"
        "Read More: Northern residents return home\n"
        "Related Articles: US strikes target depots\n"
        "More on this story - Militias move weapons\n"
        "Traffic resumed on Monday."
    )
    assert clean_text(text) == "The crossing reopened on Sunday.\n\nTraffic resumed on Monday."


def test_arabic_and_hebrew_related_link_lines_are_dropped() -> None:
    text = (
        "أفاد مصدر محلي بأن غارات استهدفت مواقع في البوكمال.\n"
        "اقرأ أيضاً: إعادة افتتاح منفذ القائم الحدودي\n"
        "إقرأ أيضا: تعزيزات تصل إلى دير الزور\n"
        "קראו עוד: תרגיל פתע בגבול הצפון\n"
        "ولم تعلن أي جهة مسؤوليتها."
    )
    assert clean_text(text) == (
        "أفاد مصدر محلي بأن غارات استهدفت مواقع في البوكمال.\n\nولم تعلن أي جهة مسؤوليتها."
    )


def test_shafaq_arabic_dateline_is_removed() -> None:
    text = "شفق نيوز/ أفاد مصدر محلي بأن غارات استهدفت مواقع في البوكمال."
    assert clean_text(text, datelines=(*SHAFAQ_DATELINES, r"^شفق نيوز\s*/\s*")) == (
        "أفاد مصدر محلي بأن غارات استهدفت مواقع في البوكمال."
    )


def test_newsletter_share_and_cookie_prompts_are_dropped() -> None:
    text = (
        "Stay updated with the latest news!\n"
        "Subscribe to The Jerusalem Post Newsletter\n"
        "Share this article:\n"
        "We use cookies to improve your experience.\n"
        "Join our Telegram channel for breaking news\n"
        "The drill ends on Wednesday."
    )
    assert clean_text(text) == "The drill ends on Wednesday."


def test_long_paragraph_that_starts_like_a_prompt_is_kept() -> None:
    paragraph = (
        "Subscribe to a theory of deterrence, the minister argued, and you accept that "
        "each strike on the depots near the border invites another one, a cycle the "
        "militias have exploited for years along the Euphrates."
    )
    assert clean_text(paragraph) == paragraph


def test_title_repeated_as_first_line_is_dropped() -> None:
    text = "Blasts reported near Albukamal\nSeveral explosions were heard."
    assert (
        clean_text(text, hints=PageHints(titles=("Blasts reported near Albukamal",)))
        == "Several explosions were heard."
    )


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    assert clean_text("  First.  \n\n\n Second.\n") == "First.\n\nSecond."


def test_normalise_nfc_invisible_controls_entities_and_spaces() -> None:
    decomposed = "Deir ez-Zor cafe\u0301"  # e + combining acute
    assert normalise(decomposed) == "Deir ez-Zor café"
    assert normalise("al\u200b-Bukamal\ufeff") == "al-Bukamal"
    assert normalise("a\x07b") == "a b"
    assert normalise("Tom &amp; Jerry&nbsp;&#8211; x") == "Tom & Jerry – x"
    assert normalise("a \u00a0\t b") == "a b"
    assert normalise("البوكمال\u200c") == "البوكمال"


def test_photo_credits_in_arabic_kurdish_and_hebrew_are_dropped() -> None:
    text = (
        "ناقلة نفط في ميناء البصرة النفطي (تصوير: شفق نيوز)\n"
        "هێزەکانی ئاسایش لە سنووری پێنجوێن (وێنە: شەفەق نیوز)\n"
        'מטוס קרב ממריא לתקיפה (צילום: דובר צה"ל)\n'
        "The tanker left Basra on Monday."
    )
    assert clean_text(text) == "The tanker left Basra on Monday."


def test_a_caption_printed_again_in_the_body_is_dropped_even_without_a_credit() -> None:
    caption = "Teachers protest unpaid salaries in Sulaymaniyah"
    text = f"{caption}\nThe protest lasted three hours."
    assert clean_text(text, hints=PageHints(captions=(caption,))) == (
        "The protest lasted three hours."
    )
    assert clean_text(text) == f"{caption}\n\nThe protest lasted three hours."  # no hint: kept


def test_related_lines_in_kurdish_and_hebrew_are_dropped() -> None:
    text = (
        "بخوێنەوە: داخستنی دەروازەی باشماخ بۆ ماوەی دوو ڕۆژ\n"
        'קראו עוד: ראש העיר קריית שמונה: "התושבים חוזרים הביתה"\n'
        "Related: Oil exports through Ceyhan resume\n"
        "The border stayed closed."
    )
    assert clean_text(text) == "The border stayed closed."


def test_follow_share_app_and_video_prompts_are_dropped() -> None:
    text = (
        "تابعونا على قناة شفق نيوز في تلغرام\n"
        "Follow us on WhatsApp for breaking news from the Gulf.\n"
        "Download our app to get alerts on your phone.\n"
        "Share this article: Facebook X\n"
        "שתפו: וואטסאפ פייסבוק\n"
        "Duration: 1:12\n"
        "We use cookies to improve your experience.\n"
        "Talks resumed in Doha."
    )
    assert clean_text(text) == "Talks resumed in Doha."


def test_a_prompt_word_inside_a_long_paragraph_is_kept() -> None:
    paragraph = (
        "Follow us on the road to Sinjar, the officer told reporters, before the convoy set off "
        "towards the mountain with food, blankets and medicine for the families who returned "
        "to their villages this autumn after years in camps."
    )
    assert clean_text(paragraph) == paragraph


def test_bylines_repeated_in_the_body_are_dropped() -> None:
    text = "By Sarah Ahmed\nOmar Al-Mansouri, Doha\nThe talks ended on Wednesday."
    hints = PageHints(authors=("Omar Al-Mansouri",))
    assert clean_text(text, hints=hints) == "The talks ended on Wednesday."
    sentence = "By Tuesday evening the water had reached the top of the dam, officials said."
    assert clean_text(sentence, hints=hints) == sentence  # a sentence, not a byline


def test_table_rows_become_cells_joined_by_bars() -> None:
    text = "The toll:\n| Group | Killed |\n|---|---|\n| SDF fighters | 17 |\n| Civilians | 5 |"
    assert clean_text(text) == ("The toll:\n\nGroup | Killed\n\nSDF fighters | 17\n\nCivilians | 5")


def test_the_kurdish_dateline_of_shafaq_news_is_stripped() -> None:
    text = "شەفەق نیوز/ سەرچاوەیەکی ئەمنی ڕایگەیاند."
    assert clean_text(text, datelines=(r"^شەفەق نیوز\s*/\s*",)) == "سەرچاوەیەکی ئەمنی ڕایگەیاند."


def test_zero_width_and_bidi_controls_go_and_text_is_nfc() -> None:
    text = "\u200fCafe\u0301 in Erbil\u200b reopened\u202c.\u2066"
    assert clean_text(text) == "Café in Erbil reopened."


def test_inside_the_body_a_line_like_a_byline_or_the_title_is_the_articles_own() -> None:
    body = [f"Step {i}: mix the batter for a minute, then rest it." for i in range(1, 5)]
    recipe = [
        "Blueberry smoothie",
        *body[:2],
        "Beachbody Performance Recover, 1 cup blueberries",  # an ingredient, not a byline
        "Blueberry smoothie",  # a heading in the body that repeats the title
        *body[2:],
        "Serve cold.",
        "Sam Berry, Leeds",  # the byline at the end
    ]
    hints = PageHints(titles=("Blueberry smoothie",), authors=("Beachbody", "Sam Berry"))
    assert clean_text("\n".join(recipe), hints=hints).split("\n\n") == recipe[1:-1]


def test_a_paragraph_that_repeats_is_kept_unless_doubled_in_a_row() -> None:
    answers = ["Q: What would you change?", "A: The buses.", "Q: What would you change?"]
    assert clean_text("\n".join(answers)).split("\n\n") == answers
    assert clean_text("Caption once.\nCaption once.\nText.") == "Caption once.\n\nText."


def test_edges_and_learned_boilerplate() -> None:
    from newswire.extract.clean import edges_of, strip_learned
    from newswire.models import LearnedBoilerplate

    text = "Desk Wire – Beirut: Talks resumed.\n\nThey will go on.\n\nTip us off."
    assert edges_of(text) == (
        ("first", "Desk Wire – Beirut: Talks resumed."),
        ("last", "Tip us off."),
        ("prefix", "Desk Wire – "),
    )
    assert edges_of("One paragraph only.") == ()
    learned = LearnedBoilerplate(last=frozenset({"Tip us off."}), prefixes=("Desk Wire – ",))
    assert strip_learned(text, learned) == "Beirut: Talks resumed.\n\nThey will go on."
    only = LearnedBoilerplate(first=frozenset({"Tip us off."}), last=frozenset({"Tip us off."}))
    assert strip_learned("Tip us off.", only) == "Tip us off."  # never the whole text


@pytest.mark.parametrize(
    "line",
    [
        # a short line crediting a picture or a source
        "Photo: Sarah Ahmed",
        "Featured image: Unsplash",
        "Source: Ministry of Health",
        "Foto: Michael von Lingen",
        "Titelbild: Flickr, CC BY 2.0",
        "Quelle: Deutscher Jagdverband (DJV)",
        "Crédit photo : KB / Bondy Blog",
        "Fuente: Ministerio de Salud",
        "Źródło: PAP",
        # an advertisement's label, a disclosure of advertising
        "Advertisement",
        "ANZEIGE",
        "*Werbung. Dieser Beitrag enthält Werbung für eine Marke.",
        "Anzeige, enthält Affiliate Links",
        "This post may contain affiliate links; we earn a commission on purchases.",
        "REKLAMA",
        "Publicidad",
        # read-also lines, alone or before a colon
        "Lesen Sie auch: Wie sich Hausbesitzer schützen",
        "Mehr zum Thema:",
        "Weitere Informationen",
        "À lire aussi : la tempête en images",
        "Lea también: Impiden ingreso a reportero",
        "VEA TAMBIÉN: Estrella de la educación",
        "Czytaj też: Wyścig zbrojeń ruszył",
        "Leggi anche: il maltempo al nord",
    ],
)
def test_credit_advertising_and_read_also_lines_go_wherever_they_stand(line: str) -> None:
    first = "The council approved the budget on Tuesday after a long debate."
    last = "The new line opens in March, the operator said."
    for text in (
        f"{line}\n{first}\n{last}",
        f"{first}\n{line}\n{last}",
        f"{first}\n{last}\n{line}",
    ):
        assert clean_text(text) == f"{first}\n\n{last}"


def test_a_sentence_that_opens_with_a_credit_word_is_kept() -> None:
    long_source = (
        "Source: " + "the ministry said the figures were provisional and would change. " * 3
    )
    for line in ("Sources say the talks will resume next week.", long_source.strip()):
        assert clean_text(line) == line


def test_a_sentence_about_advertising_is_kept() -> None:
    for line in (
        "Advertisement spending fell by a fifth in the first quarter, the agency said.",
        "Werbung im Fernsehen ist seit Jahren rückläufig, sagt der Verband.",
    ):
        assert clean_text(line) == line


def test_a_sentence_that_opens_like_a_read_also_line_is_kept() -> None:
    line = "Weitere Informationen erteilt Anne Althaus in der Leitstelle unter Tel. 02382 59-0."
    assert clean_text(line) == line
