"""The demo imports the seed's condition page (app/demo/data/condition-page-...txt, as
converted to data/library/infantile-neutropenia.md): every paragraph of the seed's
sections, the list, the authorship line, the references, both trials, the three advances
and every figure the seed prints are on the page."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from app.demo.seed import DATA

SEED = (DATA / "condition-page-infantile-neutropenia.txt").read_text(encoding="utf-8")

# the seed's sections: the question heading, then the paragraphs up to the next heading
SECTIONS = {
    "Definition": "What is the definition of Infantile Neutropenia?",
    "Causes": "What are the causes of Infantile Neutropenia?",
    "Treatments": "What are the current treatments for Infantile Neutropenia?",
    "Outlook": "What is the outlook (prognosis) for Infantile Neutropenia?",
}
# lines of the seed page's own furniture (buttons, teasers), not content
FURNITURE = {
    "Save information for later",
    "Sign Up",
    "Elite",
    "Learn about our expert tiers",
    "Learn more",
    "Neutrophil",
    "Match to trials",
    "Get started",
    "Tired of the same old research?",
    "Check Latest Advances",
    "Find the right clinical trials for you in under a minute",
}


def seed_paragraphs(heading: str) -> list[str]:
    lines = SEED.splitlines()
    start = lines.index(heading) + 1
    found = []
    for line in lines[start:]:
        text = line.strip().lstrip("\u2022").strip()
        if text.startswith(("What ", "Who ")) and text.endswith("?"):
            break
        if text and text not in FURNITURE:
            found.append(text)
    return found


def page_text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def test_every_section_paragraph_and_figure_of_the_seed_is_on_the_page(
    library: str, client: Any
) -> None:
    r = await client.get(f"/library/{library}")
    assert r.status_code == 200, r.text
    text = page_text(r.text)
    api = (await client.get(f"/api/v1/library/{library}")).json()
    assert [s["heading"] for s in api["sections"]] == list(SECTIONS)
    for heading, question in SECTIONS.items():
        section = next(s for s in api["sections"] if s["heading"] == heading)
        for paragraph in seed_paragraphs(question):
            assert paragraph in section["body_md"], (heading, paragraph)
            assert " ".join(paragraph.split()) in text, (heading, paragraph)
    treatments = next(s for s in api["sections"] if s["heading"] == "Treatments")
    assert treatments["body_html"].count("<li>") == 2  # the seed's list stays a list

    # authorship and review, as the seed writes them
    assert "Published Date: December 10, 2021" in SEED and "December 10, 2021" in text
    assert (
        "Neil K. Kaneshiro, MD, MHA, Clinical Professor of Pediatrics, University of "
        "Washington School of Medicine, Seattle, WA" in text
    )
    for reviewer in (
        "David Zieve, MD, MHA, Medical Director",
        "Brenda Conaway, Editorial Director",
        "the A.D.A.M. Editorial team",
    ):
        assert reviewer in text
    # references, numbered, verbatim
    references = [line for line in SEED.splitlines() if "Elsevier;" in line]
    assert len(references) == 3 and api["references"] == references
    assert [f'id="ref-{n}"' in r.text for n in (1, 2, 3)] == [True] * 3
    # the two trials and the three advances the seed names
    for title in (
        "Etiologic Investigation of Cancer Susceptibility in Inherited Bone Marrow Failure "
        "Syndromes: A Natural History Study",
        "Etiology, Pathogenesis, and Natural History of Idiopathic CD4+ Lymphocytopenia",
    ):
        assert title in SEED and title in text
    assert {"NCT00027274", "NCT00867269"} <= {t["id"] for t in api["trials"]}
    advances = [a["title"] for a in api["advances"]]
    assert len(advances) == 3 and all(a in SEED for a in advances)
    # the three Elite specialists, each marked as a sample listing
    assert [s["tier"] for s in api["specialists"]] == ["elite"] * 3
    assert all(s["sample"] for s in api["specialists"])
    assert text.count("Sample listing, not a real doctor") == 3
    # every figure the seed prints (dates, editions, chapters, ages, page numbers)
    for figure in set(re.findall(r"\d+", SEED)):
        assert figure in text, figure
    # linked groups, and the way to ask them
    assert [g["slug"] for g in api["groups"]] == ["blood-cancers-disorders", "childrens-health"]
    assert "Ask the community about Infantile Neutropenia" in text
    assert (
        api["ask_url"] == "/groups/blood-cancers-disorders/new?title=Infantile%20Neutropenia%3A%20"
    )


async def test_the_library_lists_the_page_a_to_z_and_filters(library: str, client: Any) -> None:
    html = (await client.get("/library")).text
    assert 'href="/library/infantile-neutropenia"' in html and "Neutropenia - infants" in html
    assert 'href="/groups/childrens-health"' in html
    assert "Infantile Neutropenia" in (await client.get("/library?q=infants")).text
    r = await client.get("/library?q=diabetes")
    assert "No condition matches" in r.text
    listing = (await client.get("/api/v1/library")).json()
    assert [p["slug"] for p in listing] == ["infantile-neutropenia"]


async def test_reimporting_the_page_keeps_its_id_and_saved_items(
    library: str, app: Any, make_client: Any, member: Any
) -> None:
    from app.demo.library import load_demo_library

    c = await make_client(member)
    saved = await c.api("POST", "/api/v1/saved", json={"kind": "library_page", "slug": library})
    assert saved.status_code == 201, saved.text
    async with app.state.db.sessionmaker() as s:
        await load_demo_library(s)
        await s.commit()
    items = (await c.get("/api/v1/saved")).json()
    assert [i["id"] for i in items] == [saved.json()["id"]]


async def test_searchable_text_has_title_also_called_summary_and_sections(
    library: str, session: Any
) -> None:
    from app.library.service import searchable_pages

    [doc] = await searchable_pages(session)
    assert doc.title == "Infantile Neutropenia" and doc.also_called == ("Neutropenia - infants",)
    assert doc.url == "/library/infantile-neutropenia" and "neutrophils" in doc.summary
    assert "alloimmune neutropenia" in doc.text and "## " not in doc.text
    assert doc.text.index("Definition") < doc.text.index("Outlook")
