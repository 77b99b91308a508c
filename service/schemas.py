"""Request and response bodies of the API, as pydantic models (the OpenAPI schema comes from here).

Response models are fixed. Request models carry the configured limits (texts
per batch, characters per text), so they are built per application by
:func:`request_models`; the limits then appear in the OpenAPI schema as
``maxItems`` / ``maxLength`` and are enforced by the same validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic_core import PydanticCustomError

from plantheme.settings import Settings
from plantheme.tagging.tagging import BOILERPLATE, GARBLED, LOW_CONFIDENCE, REPAIRED
from plantheme.themes import THEME_IDS

__all__ = [
    "ErrorDetail",
    "ErrorResponse",
    "Evidence",
    "Scores",
    "PredictionOut",
    "SentenceOut",
    "DocumentOut",
    "PredictResponse",
    "TagResponse",
    "ThemeOut",
    "ThemesResponse",
    "ModelCardOut",
    "HealthResponse",
    "RequestModels",
    "request_models",
    "PREDICT_EXAMPLES",
    "TAG_EXAMPLES",
]

# Literal over the taxonomy's ids, so the schema lists the eight values.
ThemeId = Literal[THEME_IDS]  # type: ignore[valid-type]
Flag = Literal[BOILERPLATE, GARBLED, REPAIRED, LOW_CONFIDENCE]  # type: ignore[valid-type]


# --- errors --------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine code, a message for people, and the field at fault."""

    code: str = Field(examples=["text_too_long"])
    message: str = Field(examples=["texts[3] has 12,000 characters; the limit is 10,000"])
    field: str | None = Field(default=None, examples=["texts[3]"])


class ErrorResponse(BaseModel):
    """The one shape of every 4xx (and, should one ever happen, 5xx) response."""

    error: ErrorDetail


# --- predictions ---------------------------------------------------------------


class Evidence(BaseModel):
    """A token that pushed the prediction towards its theme, with its contribution."""

    token: str
    weight: float


# All eight themes as named fields: clients (and the schema) can rely on every key.
Scores = create_model(  # type: ignore[call-overload]
    "Scores",
    __doc__="Probability of each of the eight themes (they sum to 1).",
    **{theme: (float, ...) for theme in THEME_IDS},
)


class PredictionOut(BaseModel):
    """The theme of one text: the winner, its probability, all eight scores and the evidence."""

    theme: ThemeId
    confidence: float
    scores: Scores  # type: ignore[valid-type]
    evidence: list[Evidence]


class SentenceOut(BaseModel):
    """One sentence of a text with its prediction.

    ``start``/``end`` are character offsets (Unicode code points) into the text
    as it was sent, so ``text == sent[start:end]``; ``normalized`` is what the
    model read (simplified characters, annotations and stray breaks removed).
    """

    index: int
    start: int
    end: int
    text: str
    normalized: str
    flags: list[Flag]  # type: ignore[valid-type]
    prediction: PredictionOut


class DocumentOut(BaseModel):
    """A text split into sentences, with per-theme sentence counts and shares."""

    sentences: list[SentenceOut]
    counts: dict[str, int] = Field(description="content sentences per theme, all eight themes (furniture not counted)")
    shares: dict[str, float] = Field(description="fraction of the content sentences per theme")
    dominant: ThemeId | None = Field(  # type: ignore[valid-type]
        description="the most frequent theme; null for a text without content sentences"
    )
    garbled: bool = Field(description="the text holds mis-decoded (mojibake) runs")
    boilerplate: int = Field(
        description="furniture units (责任单位 lines, 发布日期 lines, page numbers …): theme `other`,"
        " flag `boilerplate`, left out of counts and shares"
    )


class PredictResponse(BaseModel):
    """Results in the order of the request's texts.

    Each result is a prediction, or with ``"split": true`` a document of sentences.
    """

    model: str = Field(description="id of the model that answered", examples=["default-3f2a9c1b7d4e"])
    results: list[PredictionOut] | list[DocumentOut]


class TagResponse(DocumentOut):
    """One document's sentences with predictions, and its theme counts and shares."""

    model: str = Field(description="id of the model that answered")


# --- themes, model, health -----------------------------------------------------


class ThemeOut(BaseModel):
    """One policy theme of the taxonomy."""

    id: ThemeId
    name_zh: str
    description: str


class ThemesResponse(BaseModel):
    """The eight themes, in taxonomy order."""

    themes: list[ThemeOut]


class ModelCardOut(BaseModel):
    """The loaded model's card (``model.json``): training data, CV metrics, versions."""

    model_id: str
    themes: list[str]
    training: dict[str, Any]
    cv: dict[str, Any]
    params: dict[str, Any]
    versions: dict[str, str]
    created: str
    model_sha256: str
    format_version: int


class HealthResponse(BaseModel):
    """Liveness: the service is up and answering with this model."""

    status: Literal["ok"] = "ok"
    model: str


# --- requests ------------------------------------------------------------------


def _usable_text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "text is empty or only whitespace")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON "\ud800" escapes decode to lone surrogates, which no tokenizer
        # or UTF-8 response can carry.
        raise PydanticCustomError(
            "invalid_text", "text contains unpaired surrogate code points (invalid Unicode)"
        ) from None
    return value


class _StrictBody(BaseModel):
    # strict: "true" is not a boolean and 3 is not a text; extra keys are typos.
    model_config = ConfigDict(extra="forbid", strict=True)


PREDICT_EXAMPLES: dict[str, dict[str, Any]] = {
    "single": {
        "summary": "一句话",
        "value": {"texts": ["力争新培育专精特新企业3家、高新技术企业5家。"]},
    },
    "batch": {
        "summary": "多句，按顺序返回",
        "value": {
            "texts": [
                "深入开展招商引资，力争全年签约项目18个、总投资100亿元。",
                "全面落实河长制，推进流域水环境综合治理。",
                "提高低保和养老保险保障水平，确保医保参保率达到96%。",
            ]
        },
    },
    "split": {
        "summary": "先分句再分类",
        "value": {
            "texts": ["加快推进镇区主干道路改造。新建高标准农田800亩，严守耕地保护红线。"],
            "split": True,
        },
    },
}

TAG_EXAMPLES: dict[str, dict[str, Any]] = {
    "document": {
        "summary": "一段工作计划",
        "value": {
            "text": (
                "2024年是实施十四五规划的攻坚之年。\n"
                "（一）做强实体经济\n"
                "推动规上工业企业实施技术改造，加快智改数转步伐。"
                "深入开展招商引资，力争全年签约项目18个。\n"
                "（二）增进民生福祉\n"
                "加快长者食堂和居家养老服务中心建设。"
            )
        },
    },
}


@dataclass(frozen=True)
class RequestModels:
    """The request body models of one application, with its limits built in."""

    predict: type[BaseModel]
    tag: type[BaseModel]


def request_models(settings: Settings) -> RequestModels:
    """Build the request models for the limits in ``settings``."""
    text = Annotated[str, StringConstraints(max_length=settings.max_text_chars), AfterValidator(_usable_text)]
    document = Annotated[str, StringConstraints(max_length=settings.max_document_chars), AfterValidator(_usable_text)]
    predict = create_model(
        "PredictRequest",
        __base__=_StrictBody,
        __doc__=(
            f"1 to {settings.max_batch:,} texts of at most {settings.max_text_chars:,} characters"
            " each; results come back in the same order."
        ),
        texts=(
            Annotated[
                list[text],
                Field(  # type: ignore[valid-type, arg-type, maybe-unrecognized-str-typeform]
                    min_length=1,
                    max_length=settings.max_batch,
                    description='the texts to classify (sentences, or paragraphs with "split": true)',
                ),
            ],
            ...,
        ),
        split=(
            bool,
            Field(
                default=False,
                description="split each text into sentences first and classify every sentence",
            ),
        ),
    )
    tag = create_model(
        "TagRequest",
        __base__=_StrictBody,
        __doc__=f"One document's text, at most {settings.max_document_chars:,} characters.",
        text=(document, Field(description="the whole document as plain text")),
    )
    return RequestModels(predict=predict, tag=tag)
