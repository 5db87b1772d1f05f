"""A claim its passage only reports somebody as saying is shown as theirs: the speaker of
reported speech read by rule, and the verifier's lead-in naming them."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.evaluation.metrics import is_attributed
from service.generation import wording
from service.generation.attribution import attribute_sentences
from service.generation.citations import resolve_citations
from service.records import Passage
from service.verify.backends import JUDGES
from service.verify.judge import Judge
from service.verify.speakers import (
    misattributed,
    names_speaker,
    report_of,
    reported_speaker,
    speaker_of,
)
from service.verify.verifier import claim_of, verify_text
from tests.conftest import ScriptedLLM, ask, passage_number, pipeline_with_llm

QUOTE = ("“The recent bombing of railway tracks in the Bryansk and Kursk regions is, of "
         "course, a terrorist act,” he said.")
HARSH = "Putin made a harsh statement at a meeting with the government."


@pytest.mark.parametrize(("sentence", "speaker"), [
    ("Republican Senator John Wicker said that Trump had instructed John Thune to wait.",
     "Republican Senator John Wicker"),
    ("“It’s an interim victory for now,” said Alexander Gabuev, the director of the "
     "Carnegie Russia Eurasia Center in Berlin.", "Alexander Gabuev"),
    ("Russia should not make any compromises at all, says former CIA analyst Larry Johnson.",
     "Larry Johnson"),
    ("According to Batyuk, the reduction of American support for Kiev will happen anyway.",
     "Batyuk"),
    ("Military experts say Russia can keep fighting for at least another year.",
     "military experts"),
    ("The White House, for its part, said that the parties had agreed to begin talks.",
     "the White House"),
    ("“Putin has triumphed over everyone,” said one of Russia’s main TV anchors, "
     "Olga Skabeeva.", "Olga Skabeeva"),
    ("Washington’s channels with Moscow have been flung open, writes M.K.", "M.K."),
    ("On Tuesday Putin said the talks were useful.", "Putin"),
    ("Moreover Putin said the talks were useful.", "Putin"),
    ("Two sources told Reuters that the talks had stalled.", "two sources"),
])
def test_a_speaker_named_next_to_the_reporting_verb_is_read(sentence: str,
                                                            speaker: str) -> None:
    assert speaker_of(sentence) == speaker


def test_he_is_the_subject_or_speaker_of_the_sentence_before_outside_the_quote() -> None:
    assert speaker_of(QUOTE, [HARSH]) == "Putin"
    assert speaker_of(QUOTE) is None  # nobody before it: no guess
    opened = "Batyuk, a political scientist, noted in a comment that supplies will fall."
    quoted = "“The lack of American supplies of air defense systems will be a blow."
    assert speaker_of("The allies will not be able to replace them,” he believes.",
                      [opened, quoted]) == "Batyuk"
    # "he"/"she" is nobody when the sentence before names more than one name
    assert speaker_of("“We will see,” she said.",
                      ["Putin spoke with Merkel by phone on Monday."]) is None
    assert speaker_of(QUOTE, ["Lavrov and Rubio met in Riyadh."]) is None
    assert speaker_of(QUOTE, ["According to the Kremlin, Putin will attend."]) is None
    # a quotation naming its speaker is where "he" is found, whoever the subject before
    assert speaker_of("“The next round will take place in June,” he added.",
                      [HARSH, "“The talks in Istanbul were useful,” Dmitry Peskov told "
                       "reporters."]) == "Dmitry Peskov"


def test_a_quotation_over_several_sentences_is_the_speaker_of_its_close() -> None:
    opened = "Batyuk, a political scientist, noted in a comment that supplies will fall."
    quoted = "“The lack of American supplies of air defense systems will be a blow."
    closing = "The allies will not be able to replace them,” he believes."
    assert speaker_of(quoted, [opened], [closing]) == "Batyuk"
    assert speaker_of(quoted, [opened], ["Nothing closes the quotation here."]) is None
    said = "“It’s an interim victory for now,” said Alexander Gabuev, a director."
    alone = "“The ultimate victory for Putin is a Ukraine denied sovereign choices.”"
    assert speaker_of(alone, [said]) == "Alexander Gabuev"
    assert speaker_of(alone, ["Talks began in Riyadh on Tuesday."]) is None


@pytest.mark.parametrize(("sentence", "before"), [
    # "called": a phone call as often as words.
    ("Trump called the Russian President to clarify Moscow’s position.", []),
    # scare quotes report nobody
    ("The document with the provisional name “22 points” existed in reality.", []),
    ("The parties agreed on the terms according to the “1000 to 1000” formula.", []),
    # the name after a descriptor ending in a link is not the speaker
    ("Talks will resume in June, said a spokesman for President Zelensky.", []),
    ("Talks will resume in June, said a source close to the Kremlin.", []),
    ("Talks will resume in June, said officials in Kharkiv.", []),
    # denied, supposed, asked, second hand, one of a list
    ("Peskov denied that Putin said the talks had failed.", []),
    ("If Putin says no, the talks will collapse.", []),
    ("Did Putin say that the war will end this year?", []),
    ("Zelensky said Putin claimed the truce was holding.", []),
    ("According to Interfax, Zelensky said the truce was holding.", []),
    ("Germany, France and Britain said they would send troops to Ukraine.", []),
    ("Putin said the talks were useful, said Zelensky.", []),
    ("“Putin said the talks were useful,” Zelensky told reporters.", []),
    # "he": the one told is a name too
    ("“We are going to make a deal with Russia,” he said.",
     ["Giorgia Meloni told Trump that Europe wanted a seat at the table."]),
    # the sentence before names no one who could be "him"
    ("According to him, this does not mean that Washington and Moscow should become allies.",
     ["Speaking recently at a hearing, Secretary of State Marco Rubio called it irresponsible."]),
    ("They demanded that the European Union be involved in any negotiations.", []),
    # an adjective, a scare quote before a name, a clause: no speaker
    ("The attack, believed to be the largest since 2022, hit Kharkiv.", []),
    ("The “coalition of the willing” Britain announced in March will deploy troops.", []),
    ("“It was useful,” said Head of the Department of the Ministry of Foreign Affairs for "
     "the Commonwealth of Independent States.", []),
    ("After the inauguration, the United States changed its policy.", []),
])
def test_no_speaker_is_guessed(sentence: str, before: list[str]) -> None:
    assert speaker_of(sentence, before) is None


def test_a_claim_naming_the_speaker_or_reporting_speech_needs_no_lead_in() -> None:
    assert names_speaker("Scholz welcomed the decision.", "German Chancellor Olaf Scholz")
    assert names_speaker("The chancellor said it was a good start.", "Olaf Scholz")
    assert not names_speaker("The decision was a good start.", "German Chancellor Olaf Scholz")
    assert not names_speaker("The German chancellor welcomed it.", "German Chancellor Olaf Scholz")


def _passages(*texts: str, title: str = "Railway bombings and the memorandum",
              source: str | None = "NG") -> list[Passage]:
    return [Passage(chunk_id=f"c{i}", doc_id=f"d{i}", title=title, source=source, text=t,
                    start=100 * i, end=100 * i + len(t), score=1.0, rank=i)
            for i, t in enumerate(texts, start=1)]


@pytest.fixture(scope="module")
def judge() -> Judge:
    return JUDGES.get("support")(Settings())


def test_a_quote_restated_as_fact_is_attributed_to_its_speaker(judge: Judge) -> None:
    passages = _passages(f"{HARSH} {QUOTE}")
    out = verify_text("Yes, the railway bombings in the Bryansk and Kursk regions were a "
                      "terrorist act [1].", passages, judge, "mark")
    [check] = out.checks
    assert check.supported and check.speaker == "Putin"
    assert out.text == ("According to Putin, as reported by NG, yes, the railway bombings in "
                        "the Bryansk and Kursk regions were a terrorist act [1].")
    # verified again (a second look, a regeneration), the lead-in is not part of the claim
    assert claim_of(out.text, ["NG"]).startswith("yes, the railway bombings")
    again = verify_text(out.text, passages, judge, "mark")
    assert again.text == out.text and again.checks[0].speaker == "Putin"


def test_a_claim_that_names_its_speaker_or_a_narrated_fact_is_left_as_written(
        judge: Judge) -> None:
    passages = _passages(f"{HARSH} {QUOTE}",
                         "On March 11, in Jeddah, the United States and Ukraine agreed on a "
                         "30-day truce.")
    text = ("Putin said the railway bombing in the Bryansk and Kursk regions was a terrorist "
            "act [1]. The United States and Ukraine agreed on a 30-day truce in Jeddah [2].")
    out = verify_text(text, passages, judge, "mark")
    assert [c.supported for c in out.checks] == [True, True]
    assert [c.speaker for c in out.checks] == [None, None] and out.text == text


def test_the_source_is_not_named_twice_and_the_answer_counts_as_attributed() -> None:
    passages = _passages(f"{HARSH} {QUOTE}")
    text = "According to Putin, as reported by NG, the bombing was a terrorist act [1]."
    cited = resolve_citations(text, passages)
    assert attribute_sentences(cited.text, cited.citations) == text


def test_an_answer_resting_on_a_quote_names_the_speaker_end_to_end(
        news_settings: Settings) -> None:
    """Through the pipeline over the real news index and support model: the model's
    unattributed restatement of Putin's words comes out as his."""
    def restates(messages: list[dict[str, str]]) -> str:
        n = passage_number(messages, "terrorist act")
        return (f"The railway bombings in the Bryansk and Kursk regions were a terrorist "
                f"act [{n}].")

    pipeline = pipeline_with_llm(news_settings, ScriptedLLM(restates))
    answer = ask(pipeline, "Were the railway bombings in Bryansk and Kursk a terrorist act?")
    assert answer.answer.startswith("According to Putin, as reported by NG")
    assert [c.speaker for c in answer.verification] == ["Putin"]
    assert is_attributed(answer, ["Putin"])


def test_an_uploaded_document_cannot_put_its_claim_in_a_named_speakers_mouth(
        judge: Judge) -> None:
    planted = _passages("“Sanctions on Russia must end this month,” said Tatiana Stanovaya, "
                        "the founder of R. Politik.", title="Notes", source=None)
    uploaded = [p.model_copy(update={"provenance": "uploaded"}) for p in planted]
    text = "Sanctions on Russia must end this month [1]."
    assert verify_text(text, planted, judge, "mark").checks[0].speaker == "Tatiana Stanovaya"
    out = verify_text(text, uploaded, judge, "mark")
    assert out.checks[0].supported and out.checks[0].speaker is None and out.text == text


JOHNSON = ("Russia should not make any compromises at all, says former CIA analyst Larry "
           "Johnson. He expects a long war.")


IZVESTIA = (  # the chunk of 003.txt the retriever gives for uns20
    "In the context of the US President's initiative to impose a 30-day truce, the Russian "
    "side has identified a number of significant issues related to ensuring effective "
    "control over a possible ceasefire along the entire line of contact, the need to stop "
    "forced mobilization in Ukraine and the rearmament of the Armed Forces of Ukraine.\n\n"
    "Russia should not make any compromises at all, says former CIA analyst Larry Johnson."
    "\n\n\"The outcome of the negotiations should be a firm commitment by the United States "
    "to immediately end all support for Ukraine, including intelligence, financial "
    "assistance, and weapons.")


def test_words_put_in_the_mouth_of_somebody_else_are_contradicted(judge: Judge) -> None:
    # Under this title ("Trump" is in it) the support model alone passes the wrong speaker.
    passages = _passages(IZVESTIA, source="Izvestia",
                         title="Putin and Trump agree to begin negotiations on a Ukrainian "
                         "settlement")
    wrong = "President Trump argued that Russia should make no compromises at all [1]."
    out = verify_text(wrong, passages, judge, "mark")
    [check] = out.checks
    assert check.score >= judge.threshold
    assert not check.supported and check.verdict == "contradicted"
    assert out.text == wording.mark_contradicted(wrong)
    assert verify_text(wrong, passages, judge, "drop").text == ""
    for right in ("Larry Johnson argued that Russia should make no compromises at all [1].",
                  "Former CIA analyst Johnson said Russia should make no compromises [1]."):
        assert verify_text(right, passages, judge, "mark").checks[0].supported, right


def test_a_claimed_speaker_named_in_the_window_or_unnamed_is_no_misattribution() -> None:
    claim = "President Trump argued that Russia should make no compromises at all."
    assert misattributed(claim, JOHNSON, 0, len(JOHNSON)) == "Larry Johnson"
    # one capitalised word may be a country or a city its spokesman speaks for
    assert misattributed("Washington argued that Russia should make no compromises.",
                         JOHNSON, 0, len(JOHNSON)) is None
    both = "Trump met the delegation. " + JOHNSON
    assert misattributed(claim, both, 0, len(both)) is None
    assert misattributed("The president argued that Russia should make no compromises.",
                         JOHNSON, 0, len(JOHNSON)) is None  # a title names no one


def test_only_the_reported_words_of_one_speaker_get_a_lead_in(judge: Judge) -> None:
    told = _passages("Russia launched 90 drones at Kyiv overnight; Zelensky said Moscow "
                     "must pay.")
    out = verify_text("Russia launched 90 drones at Kyiv overnight [1].", told, judge, "mark")
    assert out.checks[0].supported and out.checks[0].speaker is None  # the outlet's own words
    two = [*_passages("“The talks were useful,” Peskov said."),
           *_passages("“The talks were useful,” Lavrov said.", source="Izvestia")]
    two[1] = two[1].model_copy(update={"chunk_id": "c2", "doc_id": "d2"})
    out = verify_text("The talks were useful [1][2].", two, judge, "mark")
    assert out.checks[0].speaker is None  # two speakers: neither is named for both


def test_the_models_own_attribution_quotations_and_accounts_are_kept(judge: Judge) -> None:
    passages = _passages(f"{HARSH} {QUOTE}")
    for text in ("According to Merkel, the railway bombings in Bryansk and Kursk were a "
                 "terrorist act [1].",
                 "NG reports that the railway bombings in Bryansk and Kursk were a terrorist "
                 "act [1].",
                 "The railway bombings in Bryansk and Kursk were “a terrorist act.” [1]",
                 "NG also reports: “The recent bombing of railway tracks in the Bryansk and "
                 "Kursk regions is, of course, a terrorist act.” [1]"):
        out = verify_text(text, passages, judge, "mark")
        assert out.checks[0].speaker is None and out.text == text, text


def test_the_gap_after_a_rewritten_sentence_and_a_single_mark_are_kept(judge: Judge) -> None:
    passages = [*_passages(f"{HARSH} {QUOTE}"),
                *_passages("The Pentagon urged the press not to dramatize the situation.")]
    passages[1] = passages[1].model_copy(update={"chunk_id": "c2", "doc_id": "d2"})
    text = ("The railway bombings in the Bryansk and Kursk regions were a terrorist act. [1] "
            "Hegseth skipped the meeting in Paris [2].")
    out = verify_text(text, passages, judge, "mark")
    assert "terrorist act [1]. " in out.text and out.checks[0].speaker == "Putin"
    assert out.text.count(wording.unverified_mark()) == 1
    again = verify_text(out.text, passages, judge, "mark")
    assert again.text == out.text


def test_a_model_lead_in_naming_the_wrong_speaker_is_contradicted(judge: Judge) -> None:
    passages = _passages(IZVESTIA, source="Izvestia",
                         title="Putin and Trump agree to begin negotiations on a Ukrainian "
                         "settlement")
    wrong = "According to President Trump, Russia should make no compromises at all [1]."
    assert verify_text(wrong, passages, judge, "mark").checks[0].verdict == "contradicted"
    quoted = _passages(f"{HARSH} {QUOTE}")
    merkel = ("According to Angela Merkel, the railway bombings in the Bryansk and Kursk "
              "regions were a terrorist act [1].")
    assert verify_text(merkel, quoted, judge, "mark").checks[0].verdict == "contradicted"
    # speaking for a country is not a wrong speaker
    spokesman = _passages("“The talks in Istanbul were useful,” said Dmitry Peskov, "
                          "Putin’s spokesman.")
    russia = verify_text("Russia said the talks in Istanbul were useful [1].", spokesman,
                         judge, "mark")
    assert russia.checks[0].supported


def test_a_source_labelled_by_its_title_still_gets_the_speaker(judge: Judge) -> None:
    titled = _passages(f"{HARSH} {QUOTE}", source=None)
    label = "“Railway bombings and the memorandum”"
    out = verify_text(f"According to {label}, the railway bombings in the Bryansk and Kursk "
                      "regions were a terrorist act [1].", titled, judge, "mark")
    assert out.checks[0].speaker == "Putin"
    assert out.text.startswith(f"According to Putin, as reported by {label}, the railway")
    again = verify_text(out.text, titled, judge, "mark")
    assert again.text == out.text and again.checks[0].speaker == "Putin"


def test_the_outlets_own_clause_after_a_speakers_words_is_not_theirs() -> None:
    told = ("The offensive is going according to plan, Gerasimov told Putin after Russian "
            "troops captured the village of Andriivka.")
    assert reported_speaker("Russian troops captured the village of Andriivka.", told,
                            0, len(told)) is None
    said = "Peskov said talks would resume after the holidays."
    assert reported_speaker("Talks would resume after the holidays.", said,
                            0, len(said)) == "Peskov"


def test_an_institution_speaking_through_its_spokesman_is_no_misattribution() -> None:
    quote = ("“Units of the Battlegroup Center liberated Andriivka,” Igor Konashenkov told "
             "reporters.")
    for claim in ("The Russian Defense Ministry said its units liberated Andriivka.",
                  "Russian Defense Ministry officials said units liberated Andriivka.",
                  "Russian Defense Ministry said its units liberated Andriivka."):
        assert misattributed(claim, quote, 0, len(quote)) is None, claim
    assert misattributed("President Trump said units liberated Andriivka.",
                         quote, 0, len(quote)) == "Igor Konashenkov"


def test_an_uploaded_document_cannot_make_a_sentence_contradicted(judge: Judge) -> None:
    title = "Putin and Trump agree to begin negotiations on a Ukrainian settlement"
    bundled = _passages(IZVESTIA, source=None, title=title)
    uploaded = [p.model_copy(update={"provenance": "uploaded"}) for p in bundled]
    wrong = "President Trump argued that Russia should make no compromises at all [1]."
    assert verify_text(wrong, bundled, judge, "mark").checks[0].verdict == "contradicted"
    assert verify_text(wrong, uploaded, judge, "mark").checks[0].verdict == "supported"


def test_the_person_spoken_to_is_not_the_speaker() -> None:
    told = "Lavrov told Rubio that Russia is ready to restore full diplomatic relations."
    for claim in ("Marco Rubio said Russia is ready to restore full diplomatic relations.",
                  "Secretary Rubio told Lavrov that Russia is ready to restore relations."):
        assert misattributed(claim, told, 0, len(told)) == "Lavrov", claim
    assert misattributed("Sergey Lavrov said Russia is ready to restore full relations.",
                         told, 0, len(told)) is None
    both = "Marco Rubio met Lavrov in Riyadh. " + told  # Rubio may have said it too
    assert misattributed("Marco Rubio said Russia is ready to restore full relations.",
                         both, 0, len(both)) is None


def test_an_unquoted_trailing_tag_reports_the_clause_before_it() -> None:
    for tail in (".", " on Tuesday.", " during the meeting in Riyadh."):
        sentence = f"Russia is ready to restore relations, Lavrov said{tail}"
        report = report_of(sentence)
        assert report is not None and report.speaker == "Lavrov"
        assert sentence[report.start:report.end] == "Russia is ready to restore relations"
        assert reported_speaker("Russia is ready to restore relations.", sentence, 0,
                                len(sentence)) == "Lavrov"
    for sentence in ("Russia is ready, Lavrov said the talks would resume.",
                     "Russia is ready, Lavrov said in a statement that talks would resume."):
        report = report_of(sentence)
        assert report is None or not sentence[report.start:report.end].startswith("Russia")


@pytest.mark.parametrize(("passage", "claim"), [
    ("Putin told Trump in Alaska that Ukraine must hold elections, a demand the U.S. "
     "president later repeated.", "Donald Trump said Ukraine must hold elections."),
    ("Lavrov told Rubio that Russia was ready to restore relations, and he agreed.",
     "Marco Rubio said Russia was ready to restore relations."),
    ("Russia is ready for talks, Lavrov told Rubio. Rubio agreed.",
     "Marco Rubio said Russia is ready for talks."),
    ("Putin told Trump that Ukraine must hold elections, a demand Washington later "
     "repeated.", "Donald Trump said Ukraine must hold elections."),
    ("Merz told Macron and Starmer that Europe must rearm. Both leaders agreed.",
     "Emmanuel Macron said Europe must rearm."),
])
def test_a_person_spoken_to_who_may_have_said_it_too_is_no_misattribution(
        passage: str, claim: str) -> None:
    assert misattributed(claim, passage, 0, len(passage)) is None


@pytest.mark.parametrize(("sentence", "claim"), [
    ("Hours after a Russian missile hit a hospital in Kharkiv, Zelensky said on Sunday "
     "Moscow must pay.", "A Russian missile hit a hospital in Kharkiv."),
    ("After talks in Riyadh that lasted four and a half hours, Lavrov told reporters.",
     "The talks in Riyadh lasted four and a half hours."),
    ("The ceasefire collapsed within days, as Zelensky had warned.",
     "The ceasefire collapsed within days."),
    ("As Zelensky had warned, the ceasefire collapsed within days.",
     "The ceasefire collapsed within days."),
    ("Once the talks in Riyadh ended, Lavrov told reporters.", "The talks in Riyadh ended."),
    ("Two days after the talks in Riyadh ended, Lavrov told reporters on Tuesday.",
     "The talks in Riyadh ended on Tuesday."),
    ("Unlike the talks in Riyadh, which collapsed, Lavrov said in Moscow.",
     "The talks in Riyadh collapsed."),
])
def test_an_opening_phrase_or_a_foreseen_fact_is_not_the_taggers_words(
        sentence: str, claim: str) -> None:
    assert reported_speaker(claim, sentence, 0, len(sentence)) is None


def test_a_title_before_the_tagged_name_is_not_the_reported_words() -> None:
    sentence = ("The strikes killed 12 people in Kharkiv, the regional governor, Oleh "
                "Syniehubov, said.")
    report = report_of(sentence)
    assert report is not None and report.speaker == "Oleh Syniehubov"
    assert sentence[report.start:report.end] == "The strikes killed 12 people in Kharkiv"


@pytest.mark.parametrize("sentence", [
    "It is a terrorist act, Putin said.",
    "Fighting continued in Pokrovsk, the Ukrainian General Staff said.",
    "Ukraine will rebuild the city, the school and the hospital, Zelensky said.",
])
def test_a_clause_tagged_after_a_comma_is_the_speakers_however_it_opens(sentence: str) -> None:
    report = report_of(sentence)
    assert report is not None and sentence[report.end:].startswith(",")
    assert report.start == 0 and report.end == sentence.rindex(",")


def test_an_index_that_turns_reported_speech_off_keeps_claims_unattributed(
        judge: Judge, tmp_path: Path) -> None:
    """index.toml `[verify] reported_speech = false` reaches the passages, and the verifier
    then neither names a speaker nor contradicts by one."""
    from service.index.config import load_index_config

    (tmp_path / "memos").mkdir()
    (tmp_path / "memos" / "index.toml").write_text('[verify]\nreported_speech = false\n')
    config = load_index_config(Settings(indexes_dir=tmp_path), "memos")
    assert config.verify.reported_speech is False
    assert load_index_config(Settings(), "news").verify.reported_speech is True
    title = "Putin and Trump agree to begin negotiations on a Ukrainian settlement"
    bundled = _passages(IZVESTIA, source=None, title=title)
    plain = [p.model_copy(update={"reported_speech": False}) for p in bundled]
    wrong = "President Trump argued that Russia should make no compromises at all [1]."
    assert verify_text(wrong, bundled, judge, "mark").checks[0].verdict == "contradicted"
    assert verify_text(wrong, plain, judge, "mark").checks[0].verdict == "supported"
    planted = _passages("“Sanctions on Russia must end this month,” said Tatiana Stanovaya, "
                        "the founder of R. Politik.", title="Notes", source=None)
    text = "Sanctions on Russia must end this month [1]."
    out = verify_text(text, [p.model_copy(update={"reported_speech": False})
                             for p in planted], judge, "mark")
    assert out.checks[0].supported and out.checks[0].speaker is None
