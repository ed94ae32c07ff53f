"""A question recbot asks waits for its answer: the golden table golden/choices.tsv for
``frames.read_choice``, and whole dialogues through the real agent (the pending question
is stored with the session, an answer completes the ask that led to it, anything else is
read as a new message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recbot.agent.reader.frames import complete, read_choice
from recbot.agent.memory import Memory
from recbot.agent.state import DialogueState, Pending

TABLE = Path(__file__).parent / "golden" / "choices.tsv"


def _rows():
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            options, kind, message, expected = line.split("\t")
            yield options.split(" | "), kind, message, expected


@pytest.mark.parametrize("labels,kind,message,expected", list(_rows()),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_golden_choice(labels, kind, message, expected):
    options = [(i, label) for i, label in enumerate(labels)]
    got = read_choice(message, options, yes_first=kind == "spelling")
    if expected == "-":
        assert got is None, got
    elif expected == "none":
        assert got is not None and got.option is None, got
    else:
        assert got is not None and got.label == expected, got


def test_complete_puts_the_choice_in_place_of_the_words_it_asked_about():
    p = Pending("which", "king kong", [(1, "King Kong (2005)"), (2, "King Kong (1933)")],
                "Something like KING KONG but funnier")
    assert complete(p, "the 1933 one") == "Something like King Kong (1933) but funnier"
    assert complete(p, "neither") is None
    assert complete(p, "a comedy") is None


def test_the_state_round_trips_and_a_damaged_pending_row_is_dropped():
    st = DialogueState(pending=Pending("which", "Heat", [(6, "Heat (1995)")], "like Heat"),
                       named=[6], focus=6, user_id=3)
    back = DialogueState.from_dict(st.as_dict())
    assert back.as_dict() == st.as_dict() and back.pending.options == [(6, "Heat (1995)")]
    bad = st.as_dict() | {"pending": {"kind": "which", "options": [["x", "y"]]}}
    assert DialogueState.from_dict(bad).pending is None
    old = {"seeds": [6], "query": "heists", "constraints": {}}   # stored before the types
    assert DialogueState.from_dict(old).last.seeds == [6]


def test_an_answer_to_which_film_completes_the_ask(make_agent):
    agent = make_agent()
    first = agent.ask("something like King Kong but funnier")
    assert first.kind == "clarify" and "King Kong (1933)" in first.reply, first.reply
    # the question survives the session store (a new process reads the same row)
    stored = DialogueState.from_dict(agent.memory.load(first.session).state).pending
    assert stored is not None and stored.kind == "which"
    ans = agent.ask("the 1933 one", first.session)
    assert ans.kind == "recommend" and ans.recommendations, ans.reply
    assert "King Kong (1933)" in ans.reply and "Comedy" in ans.reply, ans.reply
    assert [m.movie_id for m in ans.resolved] == [i for i, label in stored.options
                                                   if label == "King Kong (1933)"]
    # the session keeps what the user typed, not the completed ask
    assert [t["user"] for t in agent.memory.history(first.session)][-1] == "the 1933 one"
    after = DialogueState.from_dict(agent.memory.load(first.session).state)
    assert after.pending is None and after.last is not None


def test_a_message_that_is_no_answer_is_read_on_its_own(make_agent):
    agent = make_agent()
    first = agent.ask("something like King Kong")
    assert first.kind == "clarify"
    ans = agent.ask("a comedy instead", first.session)
    assert ans.kind == "recommend" and "King Kong" not in ans.reply, ans.reply
    assert DialogueState.from_dict(agent.memory.load(first.session).state).pending is None


def test_yes_takes_the_first_close_spelling(make_agent):
    agent = make_agent()
    first = agent.ask("movies like Termintor 3")
    assert first.kind == "clarify" and "Did you mean" in first.reply, first.reply
    ans = agent.ask("yes", first.session)
    assert ans.kind == "recommend" and "Terminator 3" in ans.reply, ans.reply


def test_a_stored_pending_question_survives_reopening(tmp_path):
    path = tmp_path / "s.sqlite"
    m = Memory(path)
    sid = m.new_session()
    m.ensure(sid)
    st = DialogueState(pending=Pending("spelling", "Titanc", [(1721, "Titanic (1997)")],
                                       "like Titanc"))
    m.record_turn(sid, "like Titanc", "Did you mean", {"kind": "clarify"}, st.as_dict(), [], {})
    m.close()
    again = Memory(path)
    assert DialogueState.from_dict(again.load(sid).state).pending.options == [
        (1721, "Titanic (1997)")]
    again.close()


def test_the_choice_replaces_the_title_not_a_word_that_contains_it():
    p = Pending("which", "Heat", [(6, "Heat (1995)"), (7, "Heat (1972)")],
                "I loved Heathers, something like Heat")
    assert complete(p, "the 1995 one") == "I loved Heathers, something like Heat (1995)"


def test_bad_input_makes_no_session_and_a_foreign_message_takes_no_feedback(make_agent):
    from recbot.agent.reader.intent import InputError

    agent = make_agent()
    before = len(agent.memory.sessions())
    with pytest.raises(InputError):
        agent.ask("2\x00")
    assert len(agent.memory.sessions()) == before
    first = agent.ask("something like Heat")
    ans = agent.ask("je voudrais le #7 merci", first.session)
    assert "English, Chinese and Spanish" in ans.reply and not ans.recommendations, ans.reply
    assert agent.memory.load(first.session).feedback == {}


def test_the_list_again_before_any_list_is_small_talk(make_agent):
    ans = make_agent().ask("show me the list again")
    assert ans.kind == "chitchat" and not ans.recommendations, (ans.kind, ans.reply)


def test_the_original_one_answers_which_get_carter(make_agent):
    agent = make_agent()
    first = agent.ask("something like Get Carter")
    assert first.kind == "clarify" and "Get Carter (1971)" in first.reply, first.reply
    ans = agent.ask("the original one", first.session)
    assert ans.kind == "recommend" and "Get Carter (1971)" in ans.reply, ans.reply
    assert 'for "original"' not in ans.reply
