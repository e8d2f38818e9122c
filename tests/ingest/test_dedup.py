"""Near-duplicate clustering on MinHash signatures."""

from ingest.dedup import DupCandidate, clusters, signature, similarity

BASE = (
    "Die Stadt Lünen erhält 3,5 Millionen Euro aus dem 5-StandorteProgramm für die Entwicklung der "
    "ehemaligen Kraftwerksfläche Lippholthausen. Auf 32 Hektar sollen Gewerbe und Logistik entstehen. "
    "Der Förderbescheid wurde am 3. Mai 2023 in Arnsberg übergeben. Die WFG Kreis Unna begleitet das "
    "Vorhaben gemeinsam mit der Stadt und den Eigentümern der Fläche über mehrere Jahre hinweg. "
)


def cand(doc_id: str, text: str, date: str | None = None, source: str | None = None) -> DupCandidate:
    return DupCandidate(doc_id, source or f"{doc_id}.html", None, date, signature(text))


def test_identical_texts_have_similarity_one_and_unrelated_near_zero() -> None:
    assert similarity(signature(BASE), signature(BASE)) == 1.0
    other = "Im Ruhrgebiet entstehen neue Ladepunkte für Elektroautos in Dortmund und Essen " * 3
    assert similarity(signature(BASE), signature(other)) < 0.1


def test_republished_release_with_new_title_and_contact_clusters_with_its_original() -> None:
    original = cand("a", "Pressemitteilung der Stadt. " + BASE * 2, date="2023-05-03")
    copy = cand(
        "b", "WFG meldet: Förderbescheid. " + BASE * 2 + "Kontakt: WFG Kreis Unna, Telefon 02303.", date="2023-05-04"
    )
    unrelated = cand("c", "Wasserstoff aus Hamm-Uentrop: ein Elektrolyseur mit 20 Megawatt Leistung. " * 4)
    groups = clusters([copy, unrelated, original])
    assert [[c.doc_id for c in g] for g in groups] == [["a", "b"]]  # the earlier one is canonical


def test_no_clusters_without_duplicates() -> None:
    assert clusters([cand("a", BASE), cand("b", "Ganz anderer Text über Schwammstädte in Kamen. " * 5)]) == []
