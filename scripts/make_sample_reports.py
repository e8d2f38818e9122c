"""Generate the multi-page progress-report PDFs of the bundled sample corpus.

The report texts below are written by the project (grounded in public facts about the Ruhr area's
structural change; the figures of invented projects are kept consistent with the HTML sample pages,
see corpus/SAMPLE.md). Every page carries a running header (the report title) and a footer
"Seite N von M", so that header/footer removal can be tested. A "~" in the text is a soft hyphen:
justified lines may break there and show a hyphen, which tests de-hyphenation.

The output is byte-reproducible: fixed creation date, fixed metadata, no randomness. Run

    .venv/bin/python scripts/make_sample_reports.py [--out corpus/sample]

twice and compare sha256 sums. A Unicode TTF font (DejaVu Sans, Debian/Ubuntu package
``fonts-dejavu-core``) is used when present; otherwise the script falls back to the PDF core font
Helvetica and maps the few characters outside Latin-1 (quotes, dashes, euro sign, bullets).
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT_CANDIDATES = (
    (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")),
    (Path("/usr/share/fonts/TTF/DejaVuSans.ttf"), Path("/usr/share/fonts/TTF/DejaVuSans-Bold.ttf")),
    (Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"), Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf")),
)
SOFT_HYPHEN = "\u00ad"
# Characters outside Latin-1 and their stand-ins for the core-font fallback.
LATIN1_MAP = {"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-",
              "€": "EUR", "•": "-", "₂": "2", "…": "...", "→": "->", "≈": "ca."}

# Block kinds: ("h1", text) section heading, ("h2", text) subheading, ("p", text) paragraph,
# ("ul", [items]) bullet list, ("table", widths, header, rows) table, ("note", text) small print.
Block = tuple


@dataclass(frozen=True)
class Report:
    filename: str
    title: str
    subtitle: str
    publisher: str
    status: str
    created: datetime
    subject: str
    keywords: str
    blocks: tuple[Block, ...]


REPORTS: tuple[Report, ...] = (
    Report(
        filename="bericht-5-standorteprogramm-2023.pdf",
        title="Fortschrittsbericht 5-StandorteProgramm 2023",
        subtitle="Strukturwandel an den Steinkohlekraftwerksstandorten Duisburg, Gelsenkirchen, Hamm, Herne und Kreis Unna",
        publisher="Projektbüro Kraftwerk der Business Metropole Ruhr GmbH, Essen – im Auftrag des Ministeriums für Wirtschaft, Industrie, Klimaschutz und Energie des Landes Nordrhein-Westfalen",
        status="Stand der Daten: 31.12.2023 · veröffentlicht im März 2024",
        created=datetime(2024, 3, 14, 9, 0, tzinfo=timezone.utc),
        subject="Umsetzungsstand des 5-StandorteProgramms zum Jahresende 2023",
        keywords="5-StandorteProgramm, Kohleausstieg, Strukturwandel, Duisburg, Gelsenkirchen, Hamm, Herne, Kreis Unna, TransformationsBooster",
        blocks=(
            ("h1", "1 Das Wichtigste in Kürze"),
            ("p", "Das 5-StandorteProgramm hat im Jahr 2023 deutlich an Fahrt aufgenommen. Zum Stichtag 31. Dezember 2023 waren an den fünf nordrhein-westfälischen Steinkohle~kraftwerks~standorten insgesamt 41 Projekte im regionalen Strategie~prozess qualifiziert. Davon haben 27 Vorhaben einen Förderbescheid erhalten; das bewilligte Fördervolumen beläuft sich auf 214,6 Mio. Euro. Gegenüber dem Vorjahr hat sich die Zahl der Bewilligungen damit nahezu verdoppelt."),
            ("ul", (
                "41 qualifizierte Projekte, davon 27 bewilligt",
                "214,6 Mio. Euro bewilligte Fördermittel aus Bundes- und Landesmitteln",
                "Größtes Einzelvorhaben 2023: Wasserstoffzentrum Hamm-Uentrop (14,6 Mio. EUR Förderung, 38,5 Mio. EUR Gesamtinvestition)",
                "12 Vor- und Machbarkeitsstudien über den TransformationsBooster seit 2021 (zusammen 1,86 Mio. Euro)",
                "Schwerpunkt der Mittel: Flächenentwicklung auf früheren Kraftwerks- und Zechenflächen (96,4 Mio. Euro)",
            )),
            ("p", "Der Bericht gibt einen Überblick über den Stand in den fünf Standortkommunen, stellt ausgewählte Projekte vor und benennt die Herausforderungen, die für das Jahr 2024 zu lösen sind."),
            ("h1", "2 Ausgangslage und Rahmen~bedingungen"),
            ("p", "Mit der Schließung der Zeche Prosper-Haniel in Bottrop im Dezember 2018 endete der subventionierte Steinkohlen~bergbau in Deutschland. Das Kohleverstromungs~beendigungsgesetz aus dem Jahr 2020 legt darüber hinaus fest, dass spätestens 2038 auch die Stromerzeugung aus Kohle endet. Für die Standorte von Steinkohlekraftwerken bedeutet das den Verlust von Arbeitsplätzen in Kraftwerken, Logistik und Instandhaltung, von Aufträgen für Zulieferer und von Gewerbesteuer. Vielerorts hängt zudem die Fernwärme~versorgung ganzer Stadtteile an den Kraftwerken."),
            ("p", "Der Bund unterstützt die betroffenen Regionen auf Grundlage des Investitions~gesetzes Kohleregionen (InvKG). Nach § 11 InvKG erhalten die Standorte von Steinkohlekraftwerken Finanzhilfen für Investitionen. Für die fünf nordrhein-westfälischen Standorte Duisburg, Gelsenkirchen, Hamm, Herne und Kreis Unna stehen bis 2038 bis zu 662 Mio. Euro an Bundesmitteln zur Verfügung. Das Land ergänzt diese Mittel, unter anderem mit dem TransformationsBooster für vorbereitende Studien. Die Förderquote liegt bei Investitionen in der Regel bei bis zu 90 Prozent."),
            ("p", "Grundlage der Projektauswahl ist das gemeinsame Handlungskonzept, das die Standortkommunen im Dezember 2020 unter Begleitung der Landesregierung verabschiedet haben. Es ordnet die Vorhaben vier Handlungsfeldern zu: Flächenentwicklung, Mobilität und Infrastruktur, Energie und Klimaschutz sowie Innovation und Bildung. Das Projektbüro Kraftwerk bei der Business Metropole Ruhr moderiert den Strategieprozess, in dem Projektideen abgestimmt, priorisiert und bis zur Förderreife qualifiziert werden. Bewilligt werden die Projekte von den Bezirksregierungen Arnsberg (Hamm, Herne, Kreis Unna), Düsseldorf (Duisburg) und Münster (Gelsenkirchen)."),
            ("h1", "3 Stand der Umsetzung"),
            ("h2", "3.1 Übersicht nach Standorten"),
            ("table", (44, 36, 34, 46), ("Standort", "qualifiziert", "bewilligt", "Förderung bewilligt"), (
                ("Duisburg", "9", "7", "58,3 Mio. €"),
                ("Gelsenkirchen", "7", "5", "39,7 Mio. €"),
                ("Hamm", "6", "4", "41,2 Mio. €"),
                ("Herne", "6", "4", "27,9 Mio. €"),
                ("Kreis Unna", "13", "7", "47,5 Mio. €"),
                ("Summe", "41", "27", "214,6 Mio. €"),
            )),
            ("h2", "3.2 Verteilung auf die Handlungsfelder"),
            ("table", (90, 70), ("Handlungsfeld", "bewilligte Mittel"), (
                ("Flächenentwicklung", "96,4 Mio. €"),
                ("Mobilität und Infrastruktur", "28,7 Mio. €"),
                ("Energie und Klimaschutz", "63,1 Mio. €"),
                ("Innovation und Bildung", "26,4 Mio. €"),
            )),
            ("p", "Fast die Hälfte der Mittel fließt in die Aufbereitung und Erschließung von Flächen. Das spiegelt die Erfahrung wider, dass verfügbare, gut erschlossene Gewerbe- und Industrieflächen im Ruhrgebiet knapp sind und frühere Kraftwerks- und Zechenflächen mit ihren Netz-, Gleis- und Hafenanschlüssen eine besondere Chance bieten."),
            ("h1", "4 Berichte aus den Standorten"),
            ("h2", "4.1 Duisburg"),
            ("p", "In Duisburg wurden bis Ende 2023 sieben Projekte mit 58,3 Mio. Euro bewilligt. Dazu gehören ein Qualifizierungs- und Technologiezentrum für Wasserstoff~logistik am Hafen (16,1 Mio. Euro), der Umbau einer Industriehalle in Hochfeld zu einem Innovations- und Gründerzentrum (12,7 Mio. Euro) und ein Lückenschluss des Radschnellwegs RS1 (8,2 Mio. Euro). Für den Flächenpool Walsum mit rund 42 Hektar im Umfeld des Kraftwerks Walsum bewilligte die Bezirksregierung Düsseldorf im Juli 2022 Planungsmittel über 2,8 Mio. Euro; der Rahmenplan soll Ende 2024 beschlossen werden. Drei weitere Vorhaben umfassen zusammen 18,5 Mio. Euro."),
            ("h2", "4.2 Gelsenkirchen"),
            ("p", "Gelsenkirchen hat fünf Bewilligungen über 39,7 Mio. Euro erhalten. Schwerpunkt ist die Erschließung neuer Gewerbeflächen in Scholven-Nord (17,9 Mio. Euro) in Nachbarschaft zu Raffinerie und Kraftwerk. Mit 11,6 Mio. Euro wird die Transformation des Wärmenetzes in Buer unterstützt. Ergänzend erhält der H2-Campus Gelsenkirchen an der Westfälischen Hochschule 6,2 Mio. Euro aus dem Just Transition Fund; diese Mittel sind in den Zahlen des 5-StandorteProgramms nicht enthalten."),
            ("h2", "4.3 Hamm"),
            ("p", "In Hamm stehen vier bewilligte Projekte mit 41,2 Mio. Euro zu Buche. Am 15.11.2023 sagte die Bezirksregierung Arnsberg 14,6 Mio. EUR für das Wasserstoffzentrum Hamm-Uentrop zu. Dort soll bis Ende 2026 ein Elektrolyseur mit 20 Megawatt Leistung jährlich bis zu 1.500 Tonnen grünen Wasserstoff erzeugen. Weitere 19,8 Mio. Euro fließen in die Erschließung des Gewerbe- und Industriegebiets Uentrop-Ost; zwei kleinere Vorhaben umfassen 6,8 Mio. Euro."),
            ("h2", "4.4 Herne"),
            ("p", "Herne hat vier Projekte mit 27,9 Mio. Euro bewilligt bekommen, darunter ein Technologie- und Gründerzentrum Energie am Rhein-Herne-Kanal (15,3 Mio. Euro) und die Rahmenplanung für das Zukunftsquartier Baukau rund um den Kraftwerksstandort (4,6 Mio. Euro). Das seit dem 1. Oktober 2022 tätige Transformations~büro, das aus dem Bundesprogramm STARK mit 780.000 Euro gefördert wird, hat wesentlich zur Qualifizierung dieser Vorhaben beigetragen."),
            ("h2", "4.5 Kreis Unna"),
            ("p", "Der Kreis Unna ist mit vier Kraftwerksstandorten in Bergkamen, Lünen (zwei Standorte) und Werne besonders betroffen. Bis Ende 2023 wurden sieben Projekte mit 47,5 Mio. Euro bewilligt, koordiniert durch die Wirtschafts~förderungs~gesellschaft für den Kreis Unna (WFG):"),
            ("table", (100, 60), ("Projekt", "Förderung"), (
                ("Gewerbe- und Logistikpark Bergkamen-Heil", "18,6 Mio. €"),
                ("Fernwärme Lünen/Bergkamen: Großwärmepumpe, Speicher", "14,2 Mio. €"),
                ("Campus Kreislaufwirtschaft, Unna", "6,4 Mio. €"),
                ("Kraftwerksfläche Lünen-Lippholthausen (32 ha)", "3,5 Mio. €"),
                ("Gründungs- und Innovationszentrum Kamen", "2,1 Mio. €"),
                ("Radverbindung Werne – Bergkamen", "1,62 Mio. €"),
                ("Sechs Mobilstationen in Selm", "1,08 Mio. €"),
            )),
            ("p", "Der Förderbescheid für Lünen-Lippholthausen wurde am 3. Mai 2023 übergeben; die Gesamtkosten der Vorbereitungsphase liegen bei rund 3,9 Mio. Euro. Die Mobilstationen in Selm wurden am 14. September 2023 eröffnet. Sie zeigen, dass auch Kommunen ohne eigenes Kraftwerk vom Programm profitieren, weil der ganze Kreis Fördergebiet ist."),
            ("h1", "5 TransformationsBooster"),
            ("p", "Seit 2021 hat das Land über den TransformationsBooster zwölf Vor- und Machbarkeitsstudien mit zusammen 1,86 Mio. Euro finanziert. Die Studien klären Fragen, die vor einem Investitions~antrag beantwortet sein müssen: Flächenverfügbarkeit und Altlasten, Nachfrage, Betreibermodelle und Kosten. Zwei Beispiele aus dem Kreis Unna:"),
            ("ul", (
                "Machbarkeitsstudie Gersteinwerk Werne (180.000 Euro): Beauftragung im Dezember 2022, Ergebnisse im Juni 2023. Empfohlen wird ein Energie- und Wärmepark mit gewerblicher Randnutzung auf rund 24 Hektar.",
                "Vorstudie EcoTecHub Bergkamen (150.000 Euro): Die Hochschule Bochum und die Westfälische Hochschule untersuchen vom 1. Dezember 2023 bis Ende 2024, ob ein Technologiehub für Kreislaufwirtschaft und nachhaltige Wertschöpfung tragfähig ist.",
            )),
            ("h1", "6 Flankierende Programme"),
            ("p", "Das 5-StandorteProgramm ist auf Investitionen ausgerichtet. Für Personal, Beratung, Netzwerke und Weiterbildung nutzen die Standorte das Bundesprogramm STARK. Beispiele sind das Transformationsbüro in Herne (780.000 Euro) und der Qualifizierungsverbund Transformation im Kreis Unna (1,9 Mio. Euro, Ziel: 400 weitergebildete Beschäftigte bis Mitte 2025). Duisburg und Gelsenkirchen gehören außerdem zum Fördergebiet des Just Transition Fund im Programm EFRE/JTF NRW 2021–2027. Inhaltlich knüpfen viele Vorhaben an die Ruhr-Konferenz an, etwa an die Projekte zur klimaresilienten Region und zur Grünen Infrastruktur."),
            ("h1", "7 Herausforderungen und Ausblick 2024"),
            ("p", "Drei Engpässe prägen die Umsetzung. Erstens sind viele Kraftwerksflächen noch in Betrieb oder in privatem Eigentum; die Freigabe hängt von Stilllegungs~terminen und Verhandlungen mit den Eigentümern ab. Zweitens haben gestiegene Baupreise die Kostenplanungen mehrerer Projekte überholt. Drittens fehlt in Verwaltungen und Planungsbüros Personal, um Anträge, Vergaben und Bauleitplanung zügig abzuwickeln."),
            ("p", "Für 2024 erwartet das Projektbüro rund zehn weitere Bewilligungen. Wichtige Meilensteine sind der Rahmenplan für Lünen-Lippholthausen (Mitte 2024), die Projektskizze für den Energiepark am Gersteinwerk, das Konzept des EcoTecHub Bergkamen zum Jahresende und die Ausschreibung des Elektrolyseurs in Hamm. Der nächste Fortschrittsbericht erscheint im Frühjahr 2025."),
            ("note", "Hinweis: Alle Beträge sind bewilligte Fördermittel, nicht Gesamtkosten. Rundungsdifferenzen sind möglich."),
        ),
    ),
    Report(
        filename="bericht-ecotechub-vorstudie-sachstand-2024.pdf",
        title="Sachstandsbericht Vorstudie EcoTecHub Bergkamen",
        subtitle="Technologiehub für nachhaltige Wertschöpfung und Kreislaufwirtschaft im Kreis Unna",
        publisher="Hochschule Bochum, Labor für Nachhaltigkeit in der Technik, und Westfälische Hochschule – gefördert aus dem TransformationsBooster des Landes Nordrhein-Westfalen im Rahmen des 5-StandorteProgramms",
        status="Stand: 15. Oktober 2024",
        created=datetime(2024, 10, 15, 8, 0, tzinfo=timezone.utc),
        subject="Zwischenergebnisse der Vorstudie EcoTecHub Bergkamen: Bedarfsanalyse, Standortoptionen, Betreibermodell, Kosten",
        keywords="EcoTecHub, Bergkamen, Kreislaufwirtschaft, Vorstudie, Hochschule Bochum, Westfälische Hochschule, Kreis Unna, TransformationsBooster",
        blocks=(
            ("h1", "1 Anlass und Auftrag"),
            ("p", "Der Kreis Unna ist mit vier Kraftwerksstandorten in Bergkamen, Lünen und Werne in besonderem Maße vom Ausstieg aus der Kohleverstromung betroffen. In Bergkamen kommt hinzu, dass der Steinkohlenbergbau die Stadt über Jahrzehnte geprägt hat. Vor diesem Hintergrund entstand die Idee eines regionalen Technologiehubs, der kleine und mittlere Unternehmen beim Übergang zu ressourcen~schonender, kreislauf~orientierter Produktion unterstützt: der EcoTecHub Bergkamen."),
            ("p", "Im November 2023 hat die Bezirksregierung Arnsberg für eine Vorstudie 150.000 Euro aus dem TransformationsBooster des Landes bewilligt. Die Studie läuft 13 Monate vom 1. Dezember 2023 bis zum 31. Dezember 2024. Sie wird von der Hochschule Bochum (Koordination) und der Westfälischen Hochschule bearbeitet und von der Stadt Bergkamen, der Wirtschafts~förderung Bergkamen, der WFG Kreis Unna und der IHK zu Dortmund unterstützt. Dieser Bericht fasst den Stand nach zehneinhalb Monaten zusammen."),
            ("h1", "2 Vorgehen"),
            ("p", "Die Vorstudie gliedert sich in fünf Arbeitspakete: Bedarfsanalyse, Benchmarking, Standortanalyse, Betreibermodell und Kosten sowie Verwertung. Für die Bedarfsanalyse wurden drei Methoden kombiniert:"),
            ("ul", (
                "Stakeholder-Workshop am 20. März 2024 in der Ökologiestation Bergkamen-Heil mit Vertreterinnen und Vertretern von 22 Unternehmen aus der Region,",
                "Online-Befragung vom 13. Mai bis 28. Juni 2024 mit 61 verwertbaren Rückmeldungen,",
                "14 leitfadengestützte Interviews mit Fachleuten aus Unternehmen, Kammern, Verbänden und Hochschulen.",
            )),
            ("p", "Im Benchmarking wurden sechs Technologie- und Transferzentren in Deutschland und den Niederlanden ausgewertet, die vergleichbare Aufgaben in der Kreislaufwirtschaft übernehmen."),
            ("h1", "3 Ergebnisse der Bedarfsanalyse"),
            ("h2", "3.1 Wer hat geantwortet?"),
            ("p", "Von den 61 Unternehmen, die an der Befragung teilgenommen haben, stammen 23 aus der Metallbe- und -verarbeitung, 11 aus der Kunststofftechnik, 9 aus der Logistik, 8 aus der Entsorgungs- und Recyclingwirtschaft und 10 aus anderen Branchen. Drei Viertel beschäftigen weniger als 250 Mitarbeitende. Die meisten Betriebe haben ihren Sitz in Bergkamen, Kamen, Lünen und Unna."),
            ("h2", "3.2 Was brauchen die Unternehmen?"),
            ("p", "Die Befragten sollten angeben, in welchen Bereichen sie einen hohen Unterstützungs~bedarf sehen. Die Ergebnisse bestätigen die vier Themenfelder des Workshops – Weiterbildung und Qualifizierung, Beratung und Best Practices, Technologietransfer und Prototypen sowie Infrastruktur und Synergien:"),
            ("table", (110, 50), ("Unterstützungsbedarf", "Anteil „hoher Bedarf“"), (
                ("Weiterbildung und Qualifizierung der Beschäftigten", "72 %"),
                ("Beratung zu Förderprogrammen", "68 %"),
                ("Zugang zu Versuchsanlagen und Prototyping", "54 %"),
                ("Stoffstrombörse / Verwertung von Reststoffen", "49 %"),
                ("CO₂- und Nachhaltigkeits~bilanzierung", "47 %"),
                ("Gemeinsam genutzte Flächen und Infrastruktur", "31 %"),
            )),
            ("p", "In den Interviews wurde deutlich, dass vor allem kleinere Betriebe keine eigenen Fachleute für Nachhaltigkeit haben. Sie wünschen sich eine neutrale Anlaufstelle, die Fragen bündelt und an Hochschulen, Kammern und Förderstellen weitervermittelt. Mehrere Unternehmen berichteten von steigenden Anforderungen ihrer Kunden an Rezyklat~anteile und CO₂-Bilanzen, für die ihnen Daten und Methoden fehlen."),
            ("h1", "4 Benchmarking"),
            ("p", "Die untersuchten Einrichtungen unterscheiden sich stark in Größe und Trägerschaft. Erfolgreich sind vor allem Zentren, die eng mit einer Hochschule verbunden sind, ein klares technisches Profil haben und ihre Labore auch für Auftragsversuche öffnen. Rein beratende Angebote ohne eigene Infrastruktur erreichen nach Aussage der Befragten weniger Unternehmen. Ein niederländischer Circular Hub zeigte zudem, wie eine digitale Stoffstrombörse Reststoffe zwischen Nachbar~betrieben vermitteln kann."),
            ("h1", "5 Standortoptionen in Bergkamen"),
            ("p", "Drei Flächen wurden anhand von fünf Kriterien bewertet (1 = ungünstig, 5 = sehr günstig):"),
            ("table", (52, 36, 36, 36), ("Kriterium", "A: Heil", "B: Aden", "C: Rünthe"), (
                ("Verfügbarkeit", "3", "2", "5"),
                ("Erreichbarkeit", "4", "3", "4"),
                ("Synergien mit Betrieben", "5", "2", "3"),
                ("Kosten", "3", "2", "4"),
                ("Sichtbarkeit", "5", "4", "2"),
                ("Summe", "20", "13", "18"),
            )),
            ("p", "Option A liegt im künftigen Gewerbe- und Logistikpark Bergkamen-Heil im Umfeld des Kraftwerks, dessen Erschließung mit 18,6 Mio. Euro aus dem 5-StandorteProgramm gefördert wird. Option B wäre ein Neubau an der Hafenpromenade der Wasserstadt Aden auf der früheren Zechenfläche Haus Aden. Option C ist ein leerstehendes Hallengebäude im Gewerbegebiet Rünthe, das kurzfristig angemietet werden könnte. Empfohlen wird eine zweistufige Lösung: Start in angemieteten Flächen in Rünthe ab 2026 und Umzug in einen Neubau in Heil, sobald dort erschlossene Grundstücke zur Verfügung stehen."),
            ("h1", "6 Angebote und Betreibermodell"),
            ("p", "Aus Bedarfsanalyse und Benchmarking leitet das Projektteam vier Module ab:"),
            ("ul", (
                "Transferbüro und Förderlotse: Erstberatung, Vermittlung von Hochschul~kontakten und Förderprogrammen,",
                "Weiterbildungsakademie Kreislaufwirtschaft: kurze, praxisnahe Kurse, abgestimmt mit dem Campus Kreislaufwirtschaft in Unna und dem Qualifizierungsverbund des Kreises,",
                "Demonstrations- und Prototypenlabor für die Aufbereitung von Kunststoff- und Metallreststoffen,",
                "Regionale digitale Stoffstrombörse für den Austausch von Reststoffen zwischen Betrieben.",
            )),
            ("p", "Als Träger wird eine gemeinnützige GmbH vorgeschlagen, an der die Stadt Bergkamen, die WFG und die beiden Hochschulen beteiligt sind; die IHK zu Dortmund soll in einem Beirat mitwirken. Unternehmen können als Fördermitglieder beitreten und Laborzeiten zu vergünstigten Konditionen buchen."),
            ("h1", "7 Kostenschätzung für die Aufbauphase"),
            ("p", "Für die ersten fünf Jahre schätzt das Projektteam einen Finanzbedarf von insgesamt 8,4 Mio. Euro:"),
            ("table", (110, 50), ("Position", "Betrag"), (
                ("Umbau und Gebäude", "3,2 Mio. €"),
                ("Labor- und Technikums~ausstattung", "1,9 Mio. €"),
                ("Personal (5 Jahre, bis zu 8 Stellen)", "2,6 Mio. €"),
                ("Sachkosten und Betrieb", "0,7 Mio. €"),
                ("Summe", "8,4 Mio. €"),
            )),
            ("p", "Die Investitionen von 5,1 Mio. Euro sollen im 5-StandorteProgramm beantragt werden. Für den Betrieb kommen Mittel aus dem Bundesprogramm STARK, Mitglieds~beiträge und Erlöse aus Auftragsversuchen in Betracht."),
            ("h1", "8 Nächste Schritte"),
            ("ul", (
                "12. November 2024: Validierungsworkshop mit den Unternehmen aus dem Stakeholder-Workshop,",
                "Dezember 2024: Abschlussbericht der Vorstudie,",
                "1. Quartal 2025: Projektskizze für das 5-StandorteProgramm, Abstimmung im Lenkungskreis des Kreises Unna,",
                "2026: Start des EcoTecHub in Interimsflächen in Bergkamen-Rünthe.",
            )),
            ("note", "Kontakt: Dr. Miriam Hoffstädt, Hochschule Bochum, ecotechub@hs-bochum.de"),
        ),
    ),
    Report(
        filename="bericht-e-mobilitaet-ruhr-2022.pdf",
        title="Jahresbericht E-Mobilität Ruhr 2022",
        subtitle="Ladeinfrastruktur, Projekte und Fachkräfte in der Metropole Ruhr",
        publisher="E-METROPOLE.RUHR – Initiative für Elektromobilität im Ruhrgebiet, Geschäftsstelle Essen",
        status="Berichtsjahr 2022 · veröffentlicht im April 2023",
        created=datetime(2023, 4, 20, 10, 0, tzinfo=timezone.utc),
        subject="Entwicklung der Elektromobilität im Ruhrgebiet im Jahr 2022",
        keywords="E-Mobilität, Elektromobilität, Ladeinfrastruktur, Ruhrgebiet, Hochvolt, Mobilstationen, E-METROPOLE.RUHR",
        blocks=(
            ("h1", "1 Vorwort"),
            ("p", "2022 war für die Elektromobilität im Ruhrgebiet ein Jahr des Wachstums – trotz Energiepreiskrise und Lieferengpässen. Noch nie wurden in der Region so viele Elektro~fahrzeuge zugelassen und so viele öffentliche Ladepunkte gebaut. Gleichzeitig zeigt sich immer deutlicher, dass nicht die Technik, sondern Fachkräfte, Netzanschlüsse und Genehmigungen das Tempo bestimmen. Unser Ziel bleibt, das Ruhrgebiet zur führenden Metropole für E-Mobilität in Europa zu machen. Dieser Bericht zeigt, wo wir stehen."),
            ("h1", "2 Fahrzeugbestand"),
            ("p", "Zum 1. Januar 2023 waren in der Metropole Ruhr rund 78.000 reine Elektro-Pkw zugelassen, 61 Prozent mehr als ein Jahr zuvor. Ihr Anteil am Pkw-Bestand liegt damit bei gut 2,6 Prozent und damit noch unter dem Bundesdurchschnitt. Besonders stark wuchsen gewerbliche Flotten: Pflegedienste, Handwerksbetriebe und Kommunen stellen zunehmend um. Im öffentlichen Nahverkehr fuhren Ende 2022 in den Verkehrsunternehmen der Region 214 Elektrobusse."),
            ("h1", "3 Öffentliche Ladeinfrastruktur"),
            ("p", "Die Zahl der öffentlich zugänglichen Ladepunkte in den hier betrachteten Städten und Kreisen stieg auf 2.980. Etwa jeder sechste davon ist ein Schnellladepunkt mit mindestens 50 kW."),
            ("table", (80, 80), ("Stadt / Kreis", "Ladepunkte (31.12.2022)"), (
                ("Dortmund", "640"),
                ("Essen", "580"),
                ("Kreis Unna", "460"),
                ("Duisburg", "410"),
                ("Bochum", "390"),
                ("Gelsenkirchen", "210"),
                ("Hamm", "170"),
                ("Herne", "120"),
                ("Summe", "2.980"),
            )),
            ("p", "Der Kreis Unna profitiert von einer dichten Versorgung an den Autobahnen A 1 und A 2 und von kommunalen Initiativen. So hat die Kreisstadt Unna im April 2022 an sechs städtischen Standorten 24 Ladepunkte in Betrieb genommen, die tagsüber dem elektrischen Fuhrpark der Verwaltung und abends der Öffentlichkeit zur Verfügung stehen (Kosten rund 310.000 Euro, 60 Prozent Förderung aus progres.nrw)."),
            ("h1", "4 Projekte des Jahres"),
            ("h2", "4.1 Hochvolt-Kompetenzzentrum Dortmund"),
            ("p", "Im November 2022 hat das Land 2,3 Mio. Euro aus dem Programm EFRE/JTF NRW 2021–2027 für ein Hochvolt-Kompetenz~zentrum im Bildungszentrum der Handwerkskammer Dortmund zugesagt. Auf rund 1.400 Quadratmetern sollen jährlich bis zu 600 Teilnehmende den sicheren Umgang mit Hochvolt~systemen lernen. Die Gesamtkosten liegen bei rund 3,3 Mio. Euro, der Lehrgangsbetrieb soll im Januar 2024 beginnen."),
            ("h2", "4.2 Mobilstationen in Selm"),
            ("p", "Im Dezember 2021 bewilligte die Bezirksregierung Arnsberg der Stadt Selm Mittel aus dem 5-StandorteProgramm für sechs Mobilstationen in Selm, Bork und Cappenberg. 2022 wurden die Standorte geplant und die Fahrzeuge ausgeschrieben: 24 Pedelecs, 6 E-Lastenräder, 4 E-Carsharing-Fahrzeuge und 18 Ladepunkte. Die Gesamtkosten betragen 1,2 Mio. Euro, die Förderung 1,08 Mio. Euro. Die Eröffnung ist für September 2023 geplant."),
            ("h2", "4.3 Quartierslösungen"),
            ("p", "Im Bochumer Projekt Open District Hub, einem Vorhaben der Ruhr-Konferenz, werden Ladepunkte in die Energie~steuerung eines Bestandsquartiers eingebunden. Elektroautos laden bevorzugt dann, wenn die Photovoltaik~anlagen auf den Dächern Überschüsse erzeugen. Das Beispiel zeigt, wie E-Mobilität, Wärmepumpen und Wasserstoff~speicher in einem Quartier zusammen~wirken können."),
            ("h2", "4.4 Wasserstoff für schwere Nutzfahrzeuge"),
            ("p", "Für Lkw und Busse auf langen Strecken gilt Wasserstoff als Ergänzung zur Batterie. In Hamm laufen die Planungen für ein Wasserstoff~zentrum mit öffentlicher Tankstelle für Nutzfahrzeuge am Standort Uentrop. Eine Förderung aus dem 5-StandorteProgramm wird angestrebt."),
            ("h1", "5 Fachkräfte"),
            ("p", "Der Mangel an qualifiziertem Personal ist der größte Engpass. Neben dem Hochvolt-Zentrum in Dortmund bietet der Qualifizierungsverbund Transformation im Kreis Unna seit Juli 2022 Hochvolt-Kurse für Beschäftigte aus Energiewirtschaft und Zulieferbetrieben an; er wird aus dem Bundesprogramm STARK mit 1,9 Mio. Euro gefördert. Nach unserer Schätzung benötigen Werkstätten, Elektrohandwerk und Netzbetreiber im Ruhrgebiet in den kommenden fünf Jahren mehrere tausend zusätzliche Fachkräfte mit Hochvolt-Qualifikation."),
            ("h1", "6 Aus der Initiative"),
            ("ul", (
                "86 Partnerunternehmen und Institutionen (Vorjahr: 71)",
                "E-Mobilitätstag Ruhr am 10. September 2022 in Bochum mit rund 3.400 Besucherinnen und Besuchern und über 300 Probefahrten",
                "Start der Ladesäulenkarte Ruhr mit Echtzeit-Belegung",
                "Fachforum „Flotten elektrisch“ für kommunale Fuhrparks mit 120 Teilnehmenden",
            )),
            ("h1", "7 Ausblick 2023"),
            ("p", "Für 2023 erwarten wir mehr als 3.500 öffentliche Ladepunkte in der Region. Schwerpunkte unserer Arbeit sind das Laden in Wohnquartieren ohne eigene Stellplätze, die Elektrifizierung gewerblicher Flotten und der Ausbau von Qualifizierungs~angeboten. Mit den Mobilstationen in Selm und dem Hochvolt-Zentrum in Dortmund gehen zwei Vorhaben in Betrieb, die wir in diesem Bericht vorgestellt haben."),
        ),
    ),
    Report(
        filename="bericht-klimaresilienz-ruhr-konferenz-2022.pdf",
        title="Zwischenbericht 2022: Klimaresiliente Region und Grüne Infrastruktur",
        subtitle="Umsetzungsstand zweier Projekte der Ruhr-Konferenz im Handlungsfeld „Sichere Energie – gesunde Umwelt“",
        publisher="Zukunftsinitiative Klima.Werk von Emschergenossenschaft und Lippeverband in Zusammenarbeit mit dem Regionalverband Ruhr",
        status="Stand: 31.12.2022 · veröffentlicht im März 2023",
        created=datetime(2023, 3, 28, 12, 0, tzinfo=timezone.utc),
        subject="Zwischenbilanz der Klimaanpassung im Ruhrgebiet: Abkopplung, Verdunstung, Grüne Lückenschlüsse",
        keywords="Klimaresilienz, Schwammstadt, Grüne Infrastruktur, Ruhr-Konferenz, Abkopplung, Verdunstung, Kamen, Schwerte",
        blocks=(
            ("h1", "1 Einleitung"),
            ("p", "Die Sommer 2018 bis 2022 haben gezeigt, wie verwundbar die dicht bebaute Metropole Ruhr gegenüber Hitze und Trockenheit ist; Starkregen~ereignisse haben zugleich Keller und Straßen überflutet. Die Landesregierung hat deshalb im Rahmen der Ruhr-Konferenz zwei Projekte auf den Weg gebracht, die sich ergänzen: die „Klimaresiliente Region mit internationaler Strahlkraft“, die beim Wasserhaushalt der Städte ansetzt, und die „Offensive Grüne Infrastruktur 2030“, die Grünräume über Stadtgrenzen hinweg vernetzt. Dieser Zwischenbericht beschreibt den Stand zum Ende des Jahres 2022."),
            ("h1", "2 Klimaresiliente Region mit internationaler Strahlkraft"),
            ("h2", "2.1 Ziele bis 2040"),
            ("p", "Die beteiligten Kommunen, die Emschergenossenschaft und der Lippeverband verfolgen zwei messbare Ziele: Bis 2040 sollen 25 Prozent der befestigten Flächen, die heute in die Misch~wasser~kanalisation entwässern, abgekoppelt werden. Außerdem soll die Verdunstungsrate in den Siedlungsgebieten um zehn Prozentpunkte steigen. Beides folgt dem Leitbild der Schwammstadt: Regenwasser wird dort, wo es fällt, versickert, gespeichert, genutzt oder verdunstet."),
            ("h2", "2.2 Förderprogramm"),
            ("p", "Für das Förderprogramm „Klimaresiliente Region mit internationaler Strahlkraft“ stellt das Land rund 250 Mio. Euro bereit. Gefördert werden bauliche Maßnahmen wie Entsiegelung, Dach- und Fassaden~begrünung, Mulden, Rigolen und Baumrigolen sowie multifunktionale Flächen, die bei Starkregen geflutet werden dürfen. Die Förderquote beträgt in der Regel bis zu 80 Prozent. Die Zukunftsinitiative Klima.Werk berät die Antragstellenden."),
            ("h2", "2.3 Stand der Bewilligungen"),
            ("p", "Bis zum 31.12.2022 wurden 286 Projekte bewilligt und 118,4 Mio. Euro Fördermittel zugesagt. Nach vollständiger Umsetzung werden rund 214 Hektar befestigte Fläche vom Kanal abgekoppelt sein; bereits fertiggestellt sind Maßnahmen auf 71 Hektar."),
            ("table", (62, 30, 34, 34), ("Projekttyp", "Projekte", "Förderung", "abgekoppelt"), (
                ("Schulen und Kitas", "84", "31,2 Mio. €", "52 ha"),
                ("Straßen und Plätze", "61", "29,8 Mio. €", "61 ha"),
                ("Gründächer", "58", "14,6 Mio. €", "19 ha"),
                ("Gewerbeflächen", "27", "12,1 Mio. €", "38 ha"),
                ("Wohnungswirtschaft", "43", "24,9 Mio. €", "36 ha"),
                ("Sonstiges", "13", "5,8 Mio. €", "8 ha"),
                ("Summe", "286", "118,4 Mio. €", "214 ha"),
            )),
            ("p", "Gemessen am Ziel von 25 Prozent ist das ein guter Anfang, aber noch nicht genug. Um bis 2040 anzukommen, muss sich das jährliche Umsetzungs~tempo etwa verdoppeln. Das größte Potenzial liegt bei großen zusammen~hängenden Flächen: Schulhöfen, Gewerbegebieten und Wohnungsbeständen."),
            ("h2", "2.4 Beispiel: Schwammstadt Kamen-Mitte"),
            ("p", "In Kamen (Kreis Unna) baut die Stadt ihre Innenstadt seit Sommer 2022 zur Schwammstadt um. Auf drei Schulhöfen, einem Parkplatz und Teilen des Marktplatzes werden rund 1,8 Hektar entsiegelt, städtische Gebäude erhalten etwa 3.200 Quadratmeter Gründach, und 40 neue Straßenbäume werden mit Baumrigolen gepflanzt. Notwasserwege leiten Starkregen über Grünflächen zur renaturierten Seseke. Von den Gesamtkosten über 2,1 Mio. Euro trägt das Förderprogramm 80 Prozent (rund 1,68 Mio. Euro). Insgesamt werden rund 2,6 Hektar befestigte Fläche abgekoppelt; der Abschluss ist für Ende 2024 geplant."),
            ("h2", "2.5 Beispiel: Wasserstadt Aden in Bergkamen"),
            ("p", "Auf der früheren Zechenfläche Haus Aden in Bergkamen-Oberaden entsteht ein Stadtquartier an einem neuen Hafenbecken, das mit dem Datteln-Hamm-Kanal verbunden wird. Niederschlags~wasser von Dächern und Straßen wird über offene Rinnen und Mulden in das Hafenbecken und in Grünflächen geleitet. Das Quartier zeigt, wie Flächenrecycling und Klimaanpassung zusammen gedacht werden können."),
            ("h1", "3 Offensive Grüne Infrastruktur 2030"),
            ("p", "Die Offensive, die der Regionalverband Ruhr koordiniert, will Parks, Halden, Flussauen und Grünzüge zu einem regionalen Netz verbinden. Ein zentrales Instrument ist das Aktionsprogramm „Grüne Lückenschlüsse“. Es schließt Lücken zwischen bestehenden Grünräumen – oft nur wenige hundert Meter, die bisher durch Straßen, Gleise oder Brachen unterbrochen waren."),
            ("p", "Bis Ende 2021 waren 22 Lückenschlüsse fertiggestellt, im Jahr 2022 kamen neun weitere hinzu, sodass zum Berichtsstichtag 31 Maßnahmen umgesetzt sind. Ein Beispiel ist der 2,4 Kilometer lange Grünzug zwischen Schwerte-Villigst und Ergste im Ruhrtal, der am 21.09.2021 freigegeben wurde: ein wassergebundener Rad- und Fußweg mit Anschluss an den Ruhrtalradweg, 120 neu gepflanzten Bäumen, Blühstreifen und zwei Mulden für Hoch- und Starkregen~wasser. Die Kosten betrugen 650.000 Euro, davon 80 Prozent Landesförderung."),
            ("h1", "4 Wechselwirkungen mit dem Strukturwandel"),
            ("p", "Klimaanpassung ist im Ruhrgebiet eng mit dem Strukturwandel verbunden. Auf früheren Zechen- und Kraftwerksflächen entstehen neue Quartiere und Gewerbegebiete, die von Beginn an wassersensibel geplant werden können. So sieht der Rahmenplan für den Flächenpool Walsum in Duisburg einen Grünzug vor, der Kaltluft in die Wohngebiete führt und Starkregen aufnimmt. Auch die Projekte des 5-StandorteProgramms werden zunehmend auf ihre Klimawirkung geprüft."),
            ("h1", "5 Herausforderungen und Ausblick"),
            ("ul", (
                "Planungs- und Baukapazitäten: Fachbüros und Baufirmen sind ausgelastet, Ausschreibungen bleiben teilweise ohne Angebot.",
                "Baupreise: Die Kosten vieler Maßnahmen sind seit 2021 um 20 bis 30 Prozent gestiegen.",
                "Pflege: Grüne Infrastruktur braucht dauerhaft Personal und Mittel für Unterhaltung und Bewässerung.",
                "Ziel für 2023: 350 bewilligte Projekte im Förderprogramm und weitere zehn Grüne Lückenschlüsse.",
            )),
            ("note", "Die Zahlen beruhen auf den Meldungen der Programmpartner zum 31.12.2022; Flächenangaben sind gerundet."),
        ),
    ),
)


class ReportPDF(FPDF):
    """A4 report with a running header (the report title) and a footer "Seite N von M"."""

    def __init__(self, report: Report, font: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        self.font_name = font
        self.set_margins(left=25, top=25, right=25)
        self.set_auto_page_break(auto=True, margin=22)

    def header(self) -> None:
        self.set_font(self.font_name, size=8)
        self.set_text_color(90, 90, 90)
        self.set_y(12)
        self.cell(0, 5, self.clean(self.report.title), align="L")
        self.ln(6)
        self.set_draw_color(160, 160, 160)
        self.line(25, 18, 185, 18)
        self.set_text_color(0, 0, 0)
        self.set_y(25)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(self.font_name, size=8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"Seite {self.page_no()} von {{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def clean(self, text: str) -> str:
        """Soft-hyphen markers become U+00AD; without a Unicode font, map to Latin-1."""
        text = text.replace("~", SOFT_HYPHEN)
        if self.font_name == "helvetica":
            for char, repl in LATIN1_MAP.items():
                text = text.replace(char, repl)
            text.encode("latin-1")  # fail loudly on an unmapped character
        return text


def pick_font() -> tuple[str, Path | None, Path | None]:
    for regular, bold in FONT_CANDIDATES:
        if regular.is_file() and bold.is_file():
            return "dejavu", regular, bold
    return "helvetica", None, None


def render(report: Report) -> bytes:
    font, regular, bold = pick_font()
    pdf = ReportPDF(report, font)
    if regular is not None and bold is not None:
        pdf.add_font("dejavu", style="", fname=str(regular))
        pdf.add_font("dejavu", style="B", fname=str(bold))
    pdf.set_title(report.title)
    pdf.set_author(report.publisher.split(" – ")[0].split(",")[0])
    pdf.set_subject(report.subject)
    pdf.set_keywords(report.keywords)
    pdf.set_creator("foerdersuche scripts/make_sample_reports.py")
    pdf.set_lang("de-DE")
    pdf.set_creation_date(report.created)

    # Title page.
    pdf.add_page()
    pdf.set_y(60)
    pdf.set_font(font, style="B", size=22)
    pdf.multi_cell(0, 10, pdf.clean(report.title), align="L")
    pdf.ln(4)
    pdf.set_font(font, size=13)
    pdf.multi_cell(0, 7, pdf.clean(report.subtitle), align="L")
    pdf.ln(12)
    pdf.set_font(font, size=10)
    pdf.multi_cell(0, 5.5, pdf.clean("Herausgeber: " + report.publisher), align="L")
    pdf.ln(3)
    pdf.multi_cell(0, 5.5, pdf.clean(report.status), align="L")
    pdf.ln(14)
    pdf.set_font(font, style="B", size=11)
    pdf.cell(0, 7, "Inhalt")
    pdf.ln(8)
    pdf.set_font(font, size=10)
    for kind, *rest in report.blocks:
        if kind == "h1":
            pdf.cell(0, 6, pdf.clean(rest[0]).replace(SOFT_HYPHEN, ""))
            pdf.ln(6)
    pdf.add_page()

    for kind, *rest in report.blocks:
        if kind == "h1":
            if pdf.get_y() > 230:
                pdf.add_page()
            pdf.ln(4)
            pdf.set_font(font, style="B", size=14)
            pdf.multi_cell(0, 7, pdf.clean(rest[0]), align="L")
            pdf.ln(2)
        elif kind == "h2":
            if pdf.get_y() > 245:
                pdf.add_page()
            pdf.ln(2)
            pdf.set_font(font, style="B", size=11.5)
            pdf.multi_cell(0, 6, pdf.clean(rest[0]), align="L")
            pdf.ln(1)
        elif kind == "p":
            pdf.set_font(font, size=10.5)
            pdf.multi_cell(0, 5.6, pdf.clean(rest[0]), align="J")
            pdf.ln(2.5)
        elif kind == "note":
            pdf.ln(2)
            pdf.set_font(font, size=8.5)
            pdf.multi_cell(0, 4.5, pdf.clean(rest[0]), align="L")
        elif kind == "ul":
            pdf.set_font(font, size=10.5)
            bullet = pdf.clean("•")
            for item in rest[0]:
                pdf.set_x(pdf.l_margin + 2)
                pdf.cell(5, 5.6, bullet)
                pdf.multi_cell(0, 5.6, pdf.clean(item), align="J")
                pdf.ln(1)
            pdf.ln(1.5)
        elif kind == "table":
            widths, header, rows = rest
            pdf.set_font(font, size=9.5)
            with pdf.table(
                col_widths=widths,
                width=sum(widths),
                align="LEFT",
                line_height=5.6,
                text_align="LEFT",
                headings_style=FontFace(emphasis="BOLD", fill_color=(225, 230, 235)),
            ) as table:
                for row in (header, *rows):
                    cells = table.row()
                    for value in row:
                        cells.cell(pdf.clean(value).replace(SOFT_HYPHEN, ""))
            pdf.ln(3)
        else:
            raise ValueError(f"unknown block kind {kind!r} in {report.filename}")
    return bytes(pdf.output())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "corpus" / "sample")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for report in REPORTS:
        data = render(report)
        path = args.out / report.filename
        path.write_bytes(data)
        print(f"{hashlib.sha256(data).hexdigest()}  {path}")


if __name__ == "__main__":
    main()
