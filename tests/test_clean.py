"""Boilerplate removal on the real news articles: what goes, and what must stay."""

from __future__ import annotations

from service.ingest.clean import clean_text
from tests.conftest import NEWS_DOCS


def cleaned(name: str) -> tuple[str, list[str]]:
    result = clean_text((NEWS_DOCS / name).read_text(encoding="utf-8"))
    return result.text, [line for _, line in result.dropped]


def test_navigation_widgets_and_foreign_script_captions_are_removed() -> None:
    text, dropped = cleaned("003.txt")
    for junk in ("Skip to main content", "Advertisement", "Live broadcast", "Select important",
                 "Photo: RIA Novosti", "Озвучить текст", "Яндекс", "Искандер"):
        assert junk not in text
    # The English caption under a Russian one, next to its photo credit, is a caption too.
    assert "Special Envoy of the President of the United States for the Middle East" not in text
    assert any("Steve Witkoff" in line for line in dropped)
    assert text.startswith("Russia and the United States have agreed")
    # Real content and section headings stay.
    assert "German Chancellor Olaf Scholz called the decision" in text
    assert "How will the conflict settlement process in Ukraine develop?" in text


def test_comment_form_and_related_article_cards_are_removed() -> None:
    text, _ = cleaned("001.txt")
    assert "Leave a Reply" not in text and "Your email address" not in text
    assert text.rstrip().endswith("at a distance of 500 km.")
    text, dropped = cleaned("002.txt")
    assert "mins read" not in text
    assert "Springtime for US-Russia Relations" in dropped
    assert text.startswith("President Trump’s announcement of peace talks")


def test_footer_labels_glued_to_the_next_page_are_removed() -> None:
    text, _ = cleaned("000.txt")
    assert not text.rstrip().endswith("Comments")
    assert text.rstrip().endswith("move on to discussions.")
    text, _ = cleaned("004.txt")
    assert not text.rstrip().endswith("Information")
    assert text.startswith("Point of no return: Russia and Ukraine have finally broken up")


def test_plain_prose_is_left_alone() -> None:
    prose = "First paragraph, a full sentence.\n\nSecond paragraph: also a sentence."
    assert clean_text(prose).text == prose
    assert clean_text(prose).dropped == []
