"""The systems the harness can score: the assistant, a naive LangChain RAG baseline, and the LLM layer."""

from __future__ import annotations

import tempfile
import time

from kb.errors import ConfigError
from kb.knowledge import KnowledgeBase
from kb.settings import Settings


def _turns_runner(bot):
    """ask(turns) → (answer dict, latency ms of the last turn), one conversation per case."""
    from assistant.conversation import Conversation

    def ask(turns: list[str]):
        conv = Conversation()
        answer, latency = None, 0.0
        for q in turns:
            t0 = time.perf_counter()
            answer = bot.ask(q, conv)
            latency = (time.perf_counter() - t0) * 1000
        return answer.to_dict(), latency

    return ask


def assistant_system(settings: Settings, kb: KnowledgeBase):
    from assistant.core import Assistant

    bot = Assistant(settings)
    bot.warm_up()
    return _turns_runner(bot)


def llm_system(settings: Settings, kb: KnowledgeBase):
    if not settings.llm_configured:
        raise ConfigError("no llm", "没有配置大模型（LLM_BASE_URL / LLM_MODEL），无法评测 llm 系统。")
    from assistant.agent import AgentAssistant

    return _turns_runner(AgentAssistant(settings))


def naive_rag_system(settings: Settings, kb: KnowledgeBase):
    """What a user would otherwise build: split the text, embed it in Chroma, answer with the best chunk."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from kb.embed import get_embedder

    embedder = get_embedder(settings.embedder)

    class _Embeddings(Embeddings):
        def embed_documents(self, texts):
            return [v.tolist() for v in embedder.encode(list(texts))]

        def embed_query(self, text):
            return embedder.encode([text])[0].tolist()

    splitter = RecursiveCharacterTextSplitter(chunk_size=300, chunk_overlap=50,
                                              separators=["\n\n", "\n", "。", "；", "，", ""])
    docs = []
    for d in kb.docs:
        for piece in splitter.split_text(kb.text_of(d["doc_id"])):
            docs.append(LCDocument(page_content=piece, metadata={"doc_id": d["doc_id"], "doc": d["name"]}))
    folder = tempfile.mkdtemp(prefix="naive_rag_")
    from chromadb.config import Settings as ChromaSettings

    store = Chroma(collection_name="naive", embedding_function=_Embeddings(), persist_directory=folder,
                   client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True, persist_directory=folder))
    store.add_documents(docs)

    def ask(turns: list[str]):
        t0 = time.perf_counter()
        best = store.similarity_search(turns[-1], k=1)
        latency = (time.perf_counter() - t0) * 1000
        if not best:
            return {"text": "", "citations": [], "figures": [], "refused": True}, latency
        doc = best[0]
        citation = {"doc": doc.metadata["doc"], "doc_id": doc.metadata["doc_id"], "section_path": "", "quote": doc.page_content,
                    "chunk_id": ""}
        return {"text": doc.page_content, "citations": [citation], "figures": [], "refused": False}, latency

    return ask


SYSTEMS = {"assistant": assistant_system, "naive-rag": naive_rag_system, "llm": llm_system}
