"""Request and response bodies, with the Chinese descriptions shown at /docs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONVERSATION_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_MESSAGES = 200


class ErrorDetail(BaseModel):
    message: str = Field(description="给人看的中文说明")
    type: str = Field(description="错误类别，如 invalid_request_error、authentication_error、not_found_error")
    code: str | None = Field(None, description="机器可读的错误代码")


class ErrorBody(BaseModel):
    error: ErrorDetail


class CitationOut(BaseModel):
    doc: str = Field(description="文件名")
    section_path: str = Field(description="章节路径，如“二、总体思路 › (三)主要目标”")
    quote: str = Field(description="原文（文件中逐字存在的片段）")
    chunk_id: str = ""
    doc_id: str = ""
    table: str = Field("", description="引自表格时为表格标题")


class FigureOut(BaseModel):
    label: str = Field(description="数值说明")
    value: float
    unit: str
    formula: str = Field("", description="计算得出的数值附计算式")
    inputs: list[FigureOut] = Field(default_factory=list, description="参与计算的数值")
    citation: CitationOut | None = None
    flag: str = Field("", description="原文问题标记，如 missing_percent（缺少“%”）")


class SourceTableOut(BaseModel):
    table_id: str
    title: str = Field(description="表格标题")
    caption: str = Field("", description="表题（原文）")
    unit: str = Field("", description="整表单位")
    columns: list[str] = Field(description="表头")
    rows: list[list[str]] = Field(description="各行的原文单元格，第 0 列为行名")
    cited_rows: list[int] = Field(default_factory=list, description="被引用的行（rows 的下标）")
    cited_cells: list[list[int]] = Field(default_factory=list, description="读数所在的单元格 [行, 列]")
    notes: list[str] = Field(default_factory=list, description="表注")


class SourceOut(BaseModel):
    number: int = Field(description="出处编号，对应正文中的 [n]")
    kind: str = Field(description="table（表格）、passage（正文段落）或 missing（文档已不在知识库中）")
    doc_id: str = ""
    doc: str = Field(description="文件名")
    section_path: str = Field(description="章节路径")
    citations: list[int] = Field(description="属于这一出处的 citations 下标")
    quotes: list[str] = Field(description="引用的原文（表格行或句子）")
    text: str = Field("", description="段落出处：所在段落（过长时截取引文前后）")
    highlights: list[list[int]] = Field(default_factory=list, description="text 中被引用部分的 [起, 止]")
    start: int = Field(-1, description="出处在文档中的起始位置（字符）")
    end: int = -1
    problem: str = Field("", description="无法核对时的中文说明（如文档已删除）")
    table: SourceTableOut | None = None


class AnswerOut(BaseModel):
    text: str = Field(description="回答正文")
    citations: list[CitationOut] = Field(description="出处：文件、章节与原文")
    figures: list[FigureOut] = Field(description="回答中用到的数值（计算值附计算式和输入）")
    refused: bool = Field(description="为 true 时表示未能作答（知识库中没有、问题无法识别等）")
    trace: list[str] = Field(description="处理过程（调试用）")
    intent: str = Field(description="问题类型，如 lookup、rank、compute、fact、narrative、agent")
    chart: dict[str, Any] | None = Field(None, description="可作图的数据：{indicator, unit, values, highlight}")
    suggestions: list[str] = Field(default_factory=list, description="可以换个问法的建议")
    understood: str = Field("", description="对问题的理解（一行），如“我理解为：乌海市 · 二氧化硫排放量降低 · 规划目标”")
    plan: dict[str, Any] | None = Field(None, description="回答所依据的查询计划（可用于更正后重新提问）")
    sources: list[SourceOut] = Field(default_factory=list,
                                     description="按来源归并的出处：每个表格一条、每个正文段落一条（citations 为逐条原始列表）")
    marked_text: str = Field("", description="在数字和引文后标注 [n] 出处编号的正文")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="问题", examples=["乌海市二氧化硫目标是多少？"])
    conversation_id: str | None = Field(
        None, pattern=CONVERSATION_ID,
        description="会话编号（字母、数字、_.:-，最长 64 个字符）。同一编号的提问共享上下文，可以追问“那包头市呢？”；不填则为单轮问答。")
    reset: bool = Field(False, description="为 true 时先清空该会话的上下文")
    doc_ids: list[str] | None = Field(None, max_length=1000,
                                      description="只在这些文档中查找答案（文档编号见文档列表）；不填则为全部文档")


class AskResponse(AnswerOut):
    conversation_id: str | None = Field(None, description="本次使用的会话编号")
    position: int | None = Field(None, description="这一轮在会话中的序号（从 0 起；反馈时使用）")


class ConversationOut(BaseModel):
    id: str = Field(description="会话编号")
    title: str = Field(description="标题（第一个问题）")
    origin: str = Field(description="app（网页）或 api（接口）")
    doc_ids: list[str] = Field(default_factory=list, description="限定的文档")
    created: str
    updated: str
    turns: int = Field(description="轮数")


class TurnOut(BaseModel):
    position: int
    question: str
    answer: AnswerOut
    mode: str = ""


class ConversationDetail(ConversationOut):
    history: list[TurnOut] = Field(description="各轮问答（保存时的回答）")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(pattern=CONVERSATION_ID, description="会话编号")
    position: int = Field(ge=0, description="轮次序号（提问接口返回的 position）")
    rating: Literal[1, -1] = Field(description="1 表示回答正确，-1 表示有误")
    correction: str = Field("", max_length=2000, description="更正：正确的数字和单位，或“规划中没有”")
    refuse: bool | None = Field(None, description="规划中没有这项内容、应当说明无法回答时为 true")


class FeedbackResponse(BaseModel):
    id: int = Field(description="反馈编号")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send name, tool_calls, …: accepted, ignored

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = Field(None, description="文字，或 OpenAI 的内容片段列表（只读取 text 片段）")


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, …: accepted and ignored

    model: str = Field("policyqa", description="模型名（任意值均可，回答总是来自政策问答）")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES,
                                        description="对话消息。最后一条须为用户问题；之前的用户消息作为追问的上下文；system 消息被忽略。")
    stream: bool = Field(False, description="为 true 时以 SSE（text/event-stream）分块返回")


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: dict[str, int]
    policyqa: AnswerOut = Field(description="结构化的回答记录：出处、数值、计算式（政策问答扩展字段）")


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class DocumentOut(BaseModel):
    doc_id: str = Field(description="文档编号（删除时使用）")
    name: str = Field(description="文件名")
    fmt: str = Field("", description="格式：txt、md、docx、pdf、html…")
    encoding: str = ""
    n_sections: int = 0
    n_tables: int = 0
    n_rows: int = 0
    n_facts: int = Field(0, description="正文中识别出的数量事实条数")
    n_chunks: int = 0
    n_items: int = Field(0, description="项目清单条目数")
    chars: int = 0
    ingested_at: str = ""
    warnings: list[str] = Field(default_factory=list, description="导入时发现的问题（如数值缺少单位）")


class FileResultOut(BaseModel):
    name: str
    ok: bool = Field(description="是否导入成功")
    doc_id: str = ""
    skipped: bool = Field(False, description="内容未变化，已跳过")
    error: str = Field("", description="失败原因（中文）")
    counts: dict[str, Any] = Field(default_factory=dict, description="解析所得：字数、页数、表格（标题与行列数）、数量事实、元数据")
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0


class UploadResponse(BaseModel):
    summary: str = Field(description="导入结果摘要（中文）")
    generation: str | None = Field(None, description="当前生效的知识库版本")
    seconds: float
    totals: dict[str, int] = Field(default_factory=dict, description="知识库现有的文档、表格、事实等数量")
    results: list[FileResultOut] = Field(description="每个文件的导入结果")


class DeleteResponse(BaseModel):
    deleted: str
    generation: str | None = None


class TableOut(BaseModel):
    table_id: str
    doc_id: str
    doc: str = Field(description="所在文件名")
    title: str = Field(description="表格标题，如“专栏二：各盟市‘十二五’期间节能减排目标”")
    section_path: str
    unit: str = ""
    columns: list[str]
    rows: int


class TableDetail(BaseModel):
    table: TableOut
    cells: list[dict[str, Any]] | None = Field(
        None, description="逐个单元格：行、列、原文、数值、单位、标记、所在行原文（wide=false 时）")
    rows: list[dict[str, Any]] | None = Field(None, description="按行展开的数值表（wide=true 时）")
