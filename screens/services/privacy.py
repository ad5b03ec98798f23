"""What the cameras do, in words: the screen notice, the public ``/privacy`` page and the DPIA summary.

All three are generated from the running settings (k-anonymity threshold, retention, operator), so
what people are told cannot drift from what the service does. Why a notice at all: estimating age
and sex from a face is biometric categorisation under the EU AI Act (Art. 50(3)), whose deployers
must inform the people exposed to it; GDPR Art. 12–13 and the EDPB guidelines 3/2019 on video
devices ask for layered information — a short first layer at the device pointing to a full second
layer. The notice on each screen is the first layer, ``/privacy`` the second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from screens.services.live_state import FACES_TTL_S

if TYPE_CHECKING:
    from screens.settings import Settings

DEFAULT_NOTICES: Final = {
    "en": "A camera beside this screen estimates the gender, age range and attention of the people in front "
    "of it to choose what the screen shows. No image and no identity is stored. Scan for details.",
    "de": "Eine Kamera neben diesem Bildschirm schätzt Geschlecht, Altersgruppe und Aufmerksamkeit der Personen "
    "davor, um die Anzeige auszuwählen. Es werden keine Bilder und keine Identitäten gespeichert. Details: scannen.",
    "fr": "Une caméra à côté de cet écran estime le genre, la tranche d'âge et l'attention des personnes devant "
    "lui pour choisir ce qu'il affiche. Aucune image ni identité n'est conservée. Scannez pour en savoir plus.",
    "es": "Una cámara junto a esta pantalla estima el género, la franja de edad y la atención de las personas "
    "que tiene delante para elegir lo que muestra. No se guarda ninguna imagen ni identidad. Escanee para más.",
    "zh": "本屏幕旁的摄像头会估计屏幕前人群的性别、年龄段和关注度，以决定显示的内容。"
    "不存储任何图像或身份信息。扫码了解详情。",
}
NOTICE_TITLES: Final = {
    "en": "Camera in use",
    "de": "Kamera in Betrieb",
    "fr": "Caméra en service",
    "es": "Cámara en uso",
    "zh": "摄像头使用中",
}


def notice_text(settings: Settings, language: str) -> str:
    """The mall's own text for ``language`` if it set one, else the built-in text."""
    return settings.privacy_notice.get(language) or DEFAULT_NOTICES[language]


def missing_notice_languages(languages: list[str], overrides: dict[str, str]) -> list[str]:
    """Notice languages with neither a configured nor a built-in text (checked at start-up)."""
    return [lang for lang in languages if not overrides.get(lang) and lang not in DEFAULT_NOTICES]


@dataclass(frozen=True)
class Section:
    """One heading of the privacy information with its paragraphs and bullet points."""

    title: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()


def retention_text(days: int) -> str:
    """What /privacy says of retention: the service drops raw events after ``days`` (issue 17)."""
    return f"Anonymous events are deleted after {days} days; only aggregate counts are kept longer."


def sections(settings: Settings) -> list[Section]:
    """The facts of ``/privacy`` and of the DPIA summary, from the settings in force."""
    k = settings.k_anonymity
    noise = (
        f" Published store audiences also carry Laplace noise (differential privacy, ε = {settings.dp_epsilon:g})."
        if settings.dp_epsilon
        else ""
    )
    live_min = round(FACES_TTL_S / 60)
    return [
        Section(
            "Who is responsible",
            (
                f"The cameras beside the screens are operated by {settings.operator_name}. "
                f"Questions and requests: {settings.privacy_contact}.",
            ),
        ),
        Section(
            "What the cameras estimate, and why",
            ("Software next to each camera estimates, for each face it sees, a few anonymous attributes:",),
            (
                "gender (female, male or unknown)",
                "age range (0–12, 13–17, 18–24, 25–34, 35–44, 45–54, 55–64, 65+)",
                "group (alone, pair or family) and how long people stay (dwell time)",
                "attention: the share of faces turned towards the screen",
            ),
        ),
        Section(
            "Purpose",
            (
                "Lead-in screens choose which store coupons to show for the crowd in front of them; fitting-room "
                "mirrors show items that go with what is tried on; stores see anonymous counts of their visitors.",
            ),
        ),
        Section(
            "What is never stored",
            (
                "Camera frames are analysed in memory and never written anywhere. The service accepts only the "
                "attributes above: its event schemas have no field for anything else and reject any event that "
                "carries one.",
            ),
            (
                "no image, video or crop of a face",
                "no face embedding, face id, track id or any other identifier of a person",
                "no name, phone number or payment data",
            ),
        ),
        Section(
            "How long anything is kept",
            (
                f"The attributes of the faces in front of a screen are kept in memory for {live_min} minutes, "
                "to describe the current crowd.",
                retention_text(settings.event_retention_days),
            ),
        ),
        Section(
            "What leaves the service",
            (
                f"Every count about people that is published (store audiences, traffic, claims per screen) rests on "
                f"at least {k} visits or faces (k-anonymity, k = {k}); smaller counts are withheld.{noise}",
            ),
        ),
        Section(
            "Your rights",
            (
                "Because nothing identifying is stored, no stored data can be linked to you, so there is nothing "
                "to access, correct or erase about you (GDPR Art. 11). You may still ask the operator about the "
                f"processing or object to it: {settings.privacy_contact}. You may also complain to your data "
                "protection authority.",
            ),
        ),
    ]


def camera_counts(kinds: list[str]) -> dict[str, int]:
    """Screens with their camera on, by kind (for the DPIA's scope)."""
    return dict(sorted(Counter(kinds).items()))


def dpia_markdown(settings: Settings, cameras_by_kind: dict[str, int], now: datetime | None = None) -> str:
    """A Markdown summary an operator can paste into its data protection impact assessment."""
    now = now or datetime.now(UTC)
    lines = [
        "# Vitrine: camera processing summary for a DPIA",
        "",
        f"Generated {now:%Y-%m-%d %H:%M} UTC from the settings in force. Public notice: `/privacy`.",
        "",
        "## Scope",
        "",
        "| screens with camera on | count |",
        "|---|---:|",
        *(f"| {kind} | {n} |" for kind, n in cameras_by_kind.items()),
        "",
    ]
    for section in sections(settings):
        lines += [f"## {section.title}", "", *(p + "\n" for p in section.paragraphs)]
        lines += [f"- {b}" for b in section.bullets] + ([""] if section.bullets else [])
    lines += [
        "## Transparency",
        "",
        "Every screen whose camera is on shows a short notice with a QR code to `/privacy` "
        f"(languages: {', '.join(settings.notice_languages)}).",
        "",
        "## Settings in force",
        "",
        "| setting | value |",
        "|---|---|",
        f"| k-anonymity threshold (`VITRINE_K_ANONYMITY`) | {settings.k_anonymity} |",
        f"| differential privacy ε (`VITRINE_DP_EPSILON`) | {settings.dp_epsilon or 'off'} |",
        f"| event retention (`VITRINE_EVENT_RETENTION_DAYS`) | {settings.event_retention_days} |",
        f"| live crowd window | {FACES_TTL_S:g} s |",
        f"| operator | {settings.operator_name} |",
        f"| contact | {settings.privacy_contact} |",
        "",
        "## Risks and mitigations",
        "",
        "| risk | mitigation |",
        "|---|---|",
        "| images or identifiers leak | never persisted; closed event schemas; tests scan the database, logs and "
        "Redis for image data |",
        f"| re-identification from small counts | k-anonymity (k = {settings.k_anonymity}) with complementary "
        "suppression |",
        "| people unaware of the camera | notice on every camera screen, `/privacy` page |",
        "| misuse of estimates | attributes used only for the purposes above; API roles limit who sees what |",
        "",
    ]
    return "\n".join(lines)
