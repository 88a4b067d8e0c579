"""Item pages, lists and related items of the cluster's serving generation (kb.backend.ItemReader).

A read host needs no index folder: items are looked up in the snapshot that serves searches (its
bitsets give visibility, keyword values and dates) and read from the texts collection. Related items
are indexer.relating's, the same code as on Whoosh, over indexer.typesense.docs.ClusterDocs.
"""

from __future__ import annotations

from typing import Any, Callable

from indexer import relating
from indexer.bitsets import members
from indexer.schema import FILTER_FIELDS, LANGUAGES, attachments_of, text_analyzer
from indexer.typesense.collection import CollectionReader
from indexer.typesense.docs import ClusterDocs
from indexer.visibility import Sight
from kb.access import Viewer
from kb.errors import NotFoundError
from kb.item import Item
from kb.related import Related, RelatedPanels


def sight_of(docs: ClusterDocs, viewer: Viewer | None, default_level: str) -> Sight | None:
    return None if viewer is None else Sight.over(docs.sets, viewer, default_level)


class ClusterReading:
    """The reading half of indexer.typesense.store.ClusterStore."""

    cluster_search: Any  # indexer.typesense.searching.ClusterSearch
    default_visibility: str
    connection: Any

    def _read(self, look: Callable[[ClusterDocs, Sight | None], Any], viewer: Viewer | None) -> Any:
        return self.cluster_search.read(lambda docs: look(docs, sight_of(docs, viewer, self.default_visibility)))

    def find_item(self, item_id: str, viewer: Viewer | None = None) -> Item | None:
        def look(docs: ClusterDocs, sight: Sight | None) -> Item | None:
            docnum = docs.number(item_id)
            if docnum is None or (sight is not None and not sight.sees(docnum)):
                return None
            item = docs.items([docnum])[0]
            return item if sight is None else sight.show(item)

        return self._read(look, viewer)

    def get_item(self, item_id: str, viewer: Viewer | None = None) -> Item:
        item = self.find_item(item_id, viewer)
        if item is None:  # the same answer whether it does not exist or the reader may not see it
            raise NotFoundError(f"no item with id {item_id!r}")
        return item

    def items_where(self, field: str, value: str, limit: int | None = None,
                    viewer: Viewer | None = None) -> list[Item]:
        """Items whose filter field (topic, activity, type ...) has `value`, newest first."""
        def look(docs: ClusterDocs, sight: Sight | None) -> list[Item]:
            bits = docs.sets.value(FILTER_FIELDS[field], value)
            if sight is not None:
                bits &= sight.docs & (sight.people if field == "person" else sight.docs)
            sets = docs.sets
            # newest first, undated ('') last, then by id: lookups.newest_first (a reversed sort stays stable)
            docnums = sorted(members(bits), key=lambda d: sets.ids[d])
            docnums.sort(key=sets.day, reverse=True)
            docnums = docnums[:limit]
            return [item if sight is None else sight.show(item) for item in docs.items(docnums)]

        return self._read(look, viewer)

    def attachments(self, activity: Item, viewer: Viewer | None = None) -> list[Item]:
        """The items an activity lists under `attachments:`, in that order (missing files are left out)."""
        def look(docs: ClusterDocs, sight: Sight | None) -> list[Item]:
            docnums = [docs.number_at(path) for path in attachments_of(activity)]
            shown = [d for d in docnums if d is not None and (sight is None or sight.sees(d))]
            return [item if sight is None else sight.show(item) for item in docs.items(shown)]

        return self._read(look, viewer)

    def all_items(self, full: bool = False) -> list[Item]:
        return self.cluster_search.read(
            lambda docs: CollectionReader(self.connection, docs.snap.collection).all_items(full))

    def related_items(self, item: Item, limit: int = 8, viewer: Viewer | None = None) -> list[Related]:
        return self._read(lambda docs, sight: relating.related_items(docs, docs.snap.vocabulary, item, limit, sight),
                          viewer)

    def related_panels(self, item: Item, limit: int = 8, viewer: Viewer | None = None) -> RelatedPanels:
        return self._read(lambda docs, sight: relating.related_panels(docs, docs.snap.vocabulary, item, limit, sight),
                          viewer)

    def named_activities(self, item: Item) -> list[Item]:
        return self._read(lambda docs, _: relating.named_activities(docs, item), None)

    def key_terms(self, item: Item, count: int) -> list[str]:
        return self._read(lambda docs, _: [w for w, _ in docs.key_terms(item, f"{item.title} {item.text}", count)],
                          None)

    def analyser(self, lang: str) -> Callable[[str], list[str]]:
        """Words of a text as the cluster holds them for items in `lang` (kb's analyser writes them)."""
        analyse = text_analyzer(lang if lang in LANGUAGES else "en")
        return lambda text: [token.text for token in analyse(text, mode="query")]
