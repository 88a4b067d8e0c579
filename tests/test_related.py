from kb.item import Item
from kb.related import rank_related
from kb.vocabulary import Vocabulary

V = Vocabulary.from_dict({"topics": [{"id": "a", "label": "Topic A"}, {"id": "b", "label": "Topic B"}]})


def test_explicit_links_outrank_shared_topics_and_similar_text():
    note = Item(id="note", title="Note", topics=("a", "b"), activities=("rt",))
    roundtable = Item(id="rt", title="Roundtable", type="activity", topics=("a",))
    reply = Item(id="reply", title="Reply", activities=("note",))
    sharing = Item(id="other", title="Other", topics=("a", "b"))
    similar = Item(id="sim", title="Similar")
    ranked = rank_related(note, vocabulary=V, linked=[roundtable], linking=[reply], sharing=[sharing, roundtable],
                          similar=[(similar, 4.0), (sharing, 2.0)])
    assert [r.item.id for r in ranked] == ["rt", "reply", "other", "sim"]
    by_id = {r.item.id: r for r in ranked}
    assert by_id["rt"].reasons == ("this item belongs to this activity", "shares topics: Topic A")
    assert by_id["reply"].reasons == ("links to this item",)
    assert by_id["other"].reasons == ("shares topics: Topic A, Topic B", "similar text")
    assert by_id["sim"].reasons == ("similar text",)


def test_activity_sees_its_content_and_never_itself():
    activity = Item(id="rt", title="Roundtable", type="activity", topics=("a",))
    note = Item(id="note", title="Note", activities=("rt",))
    sibling = Item(id="sib", title="Sibling")
    ranked = rank_related(activity, vocabulary=V, linking=[note], sharing=[activity], siblings=[(sibling, activity)],
                          similar=[(activity, 9.0)])
    assert [(r.item.id, r.reasons) for r in ranked] == [
        ("note", ("belongs to this activity",)), ("sib", ("also part of Roundtable",))]
