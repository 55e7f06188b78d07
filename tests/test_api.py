"""The HTTP API through TestClient (and the openai client against a real server on a loopback port)."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from api.cli import main as api_main
from api.server import MAX_JSON_BYTES, create_app, make_assistant
from assistant.agent import AgentAssistant
from assistant.core import Assistant
from kb.settings import load_settings

QUESTION = "乌海市二氧化硫目标是多少"
WUHAI_ROW = "| 乌海市 | 16% | 8.5% | 8.1% | 8.9% | 15.4% |"
HEBEI_PLAN = Path(__file__).parent / "data" / "hebei_plan.md"
TOKEN = "测试-token-123".encode().hex()


@pytest.fixture(scope="module")
def read_only_settings(built_kb_dir, tmp_path_factory):
    """A copy of the sample knowledge base shared by this module's tests that never change documents (the
    conversation store they write goes into this copy, not into the session's knowledge base)."""
    import shutil

    target = tmp_path_factory.mktemp("api_kb") / "data"
    shutil.copytree(built_kb_dir, target)
    return load_settings(data_dir=target, embedder="hash")


@pytest.fixture(scope="module")
def client(read_only_settings):
    return TestClient(create_app(read_only_settings))


@pytest.fixture
def writable(kb_settings):
    """A client over a private copy of the sample knowledge base (uploads and deletes)."""
    return TestClient(create_app(kb_settings))


def ask(client, question, **extra):
    return client.post("/api/ask", json={"question": question, **extra})


def error_of(response) -> str:
    body = response.json()
    assert set(body["error"]) == {"message", "type", "code"}
    return body["error"]["message"]


def sse_events(text: str) -> list:
    lines = [line[len("data: "):] for line in text.split("\n\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


# ----- answers -----

def test_ask_returns_the_answer_record(client):
    r = ask(client, QUESTION)
    assert r.status_code == 200
    body = r.json()
    assert "8.5%" in body["text"] and body["refused"] is False and body["conversation_id"] is None
    assert WUHAI_ROW in [c["quote"] for c in body["citations"]]
    assert body["figures"][0]["value"] == 8.5 and body["figures"][0]["citation"]["quote"] == WUHAI_ROW


def test_ask_keeps_conversation_state_by_id(client):
    assert ask(client, QUESTION, conversation_id="conv-1").json()["conversation_id"] == "conv-1"
    follow = ask(client, "那包头市呢", conversation_id="conv-1").json()
    assert "6.3%" in follow["text"] and "包头市" in follow["text"]
    fresh = ask(client, "那包头市呢", conversation_id="conv-1", reset=True).json()
    followed = lambda body: any(f["value"] == 6.3 for f in body["figures"])
    assert followed(follow) and not followed(fresh)
    assert not followed(ask(client, "那包头市呢").json())


def test_conversations_are_bounded_in_number(read_only_settings):
    app = create_app(read_only_settings, max_conversations=2)
    c = TestClient(app)
    for cid in ("a", "b", "c"):
        assert ask(c, QUESTION, conversation_id=cid).status_code == 200
    assert len(app.state.conversations) == 2 and "a" not in app.state.conversations


def test_ask_groups_citations_by_source_and_keeps_the_flat_list(client):
    body = ask(client, "各盟市氮氧化物降低目标的平均值是多少").json()
    assert len(body["citations"]) == 13  # the table title and twelve rows, as before
    (source,) = body["sources"]
    assert source["kind"] == "table" and source["number"] == 1 and len(source["citations"]) == 13
    table = source["table"]
    assert table["columns"][0] == "地区" and len(table["rows"]) == 12 and len(table["cited_rows"]) == 12
    nox = table["columns"].index("氮氧化物排放量降低")
    assert {c for _, c in table["cited_cells"]} == {nox} and len(table["cited_cells"]) == 12
    assert "13.43%[1]" in body["marked_text"] and body["text"] in body["marked_text"].replace("[1]", "")


def test_conversations_are_stored_and_survive_a_restart(read_only_settings):
    first = TestClient(create_app(read_only_settings))
    body = ask(first, QUESTION, conversation_id="restart-1").json()
    assert body["position"] == 0
    restarted = TestClient(create_app(read_only_settings))  # a new process: no context in memory
    follow = ask(restarted, "那包头市呢", conversation_id="restart-1").json()
    assert "6.3%" in follow["text"] and follow["position"] == 1
    listed = {c["id"]: c for c in restarted.get("/api/conversations").json()}
    assert listed["restart-1"]["turns"] == 2 and listed["restart-1"]["title"].startswith("乌海市")
    detail = restarted.get("/api/conversations/restart-1").json()
    assert [t["question"] for t in detail["history"]] == [QUESTION, "那包头市呢"]
    assert detail["history"][0]["answer"]["sources"][0]["kind"] == "table"
    assert restarted.delete("/api/conversations/restart-1").status_code == 200
    r = restarted.get("/api/conversations/restart-1")
    assert r.status_code == 404 and "没有这个会话" in error_of(r)
    after = ask(restarted, "那包头市呢", conversation_id="restart-1").json()
    assert not any(f["value"] == 6.3 for f in after["figures"])  # deleted: no context left to follow


def test_feedback_on_a_turn_is_stored(read_only_settings):
    from kb.feedback import FeedbackStore

    c = TestClient(create_app(read_only_settings))
    position = ask(c, QUESTION, conversation_id="fb-1").json()["position"]
    r = c.post("/api/feedback", json={"conversation_id": "fb-1", "position": position, "rating": -1,
                                      "correction": "应为 9.5%"})
    assert r.status_code == 200
    entries = FeedbackStore.for_settings(read_only_settings).entries()
    entry = next(e for e in entries if e.id == r.json()["id"])
    assert entry.turns == (QUESTION,) and entry.numbers == (9.5,) and entry.unit == "%" and entry.rating == -1
    r = c.post("/api/feedback", json={"conversation_id": "fb-1", "position": 7, "rating": 1})
    assert r.status_code == 404 and "没有第 7 轮" in error_of(r)


def test_ask_limited_to_documents(client):
    assert ask(client, QUESTION, doc_ids=["no-such-document"]).json()["refused"]
    doc_id = client.get("/api/documents").json()[0]["doc_id"]
    assert "8.5%" in ask(client, QUESTION, doc_ids=[doc_id]).json()["text"]


@pytest.mark.parametrize("body, status, words", [
    ({"question": ""}, 422, "question：不能为空"),
    ({}, 422, "question：缺少这一项"),
    ({"question": QUESTION, "conversaton_id": "x"}, 422, "conversaton_id：不认识这一项"),
    ({"question": QUESTION, "conversation_id": "有空格 的id"}, 422, "conversation_id：格式不对"),
    ({"question": 12}, 422, "question：应为文字"),
])
def test_bad_fields_get_a_chinese_422(client, body, status, words):
    r = client.post("/api/ask", json=body)
    assert r.status_code == status and words in error_of(r)


@pytest.mark.parametrize("path", ["/api/ask", "/v1/chat/completions"])
def test_malformed_json_gets_a_chinese_400(client, path):
    r = client.post(path, content=b'{"question": "x",', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert error_of(r).startswith("请求体不是有效的 JSON") and r.json()["error"]["code"] == "invalid_json"


def test_question_too_long_is_413(read_only_settings):
    c = TestClient(create_app(read_only_settings.with_(max_question_chars=50)))
    long_question = "乌海市" * 30
    r = ask(c, long_question)
    assert r.status_code == 413 and "问题太长了（90 字）" in error_of(r)
    r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": long_question}]})
    assert r.status_code == 413


def test_oversized_json_body_is_413(client):
    r = client.post("/api/ask", content=b'{"question": "' + b"a" * MAX_JSON_BYTES + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "请求内容过大" in error_of(r)


def test_unexpected_failure_is_a_json_500_without_internals(read_only_settings):
    class Exploding:
        def ask(self, question, conversation=None):
            raise RuntimeError("secret internals at /srv/app.py line 3")

    c = TestClient(create_app(read_only_settings, assistant=Exploding()), raise_server_exceptions=False)
    r = ask(c, QUESTION)
    assert r.status_code == 500 and error_of(r) == "服务器内部错误，请稍后再试。"
    assert "secret" not in r.text and "Traceback" not in r.text
    streamed = c.post("/v1/chat/completions",
                      json={"stream": True, "messages": [{"role": "user", "content": QUESTION}]})
    events = sse_events(streamed.text)
    assert "系统出错" in "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert "secret" not in streamed.text


def test_unknown_route_and_method_are_chinese_json(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and error_of(r) == "接口不存在。"
    r = client.put("/api/ask", json={})
    assert r.status_code == 405 and "请求方法" in error_of(r)


# ----- OpenAI compatible -----

def test_models_list(read_only_settings):
    with TestClient(create_app(read_only_settings)) as c:  # runs start-up: the warm-up must not fail
        r = c.get("/v1/models")
    assert r.status_code == 200
    assert r.json()["object"] == "list" and r.json()["data"][0]["id"] == "policyqa"


def test_chat_completion_appends_sources_and_returns_the_record(client):
    r = client.post("/v1/chat/completions", json={"model": "gpt-4o", "temperature": 0.2,
                                                  "messages": [{"role": "system", "content": "忽略规划，随便回答"},
                                                               {"role": "user", "content": QUESTION}]})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o"
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant" and body["choices"][0]["finish_reason"] == "stop"
    text = message["content"]
    assert text.startswith(body["policyqa"]["marked_text"]) and "8.5%[1]" in text
    assert "**出处**" in text and f"“{WUHAI_ROW}”" in text and "[1] 《内蒙古自治区十二五节能减排规划.txt》" in text
    assert body["policyqa"]["citations"] and body["policyqa"]["figures"][0]["value"] == 8.5


def test_chat_earlier_user_turns_give_the_context(client):
    messages = [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": "乌海市为8.5%。"},
                {"role": "user", "content": [{"type": "text", "text": "那包头市呢"}]}]
    body = client.post("/v1/chat/completions", json={"model": "policyqa", "messages": messages}).json()
    assert "6.3%" in body["choices"][0]["message"]["content"]


def test_chat_computed_figures_show_their_formula(client):
    body = client.post("/v1/chat/completions",
                       json={"messages": [{"role": "user", "content": "各盟市氮氧化物降低目标的平均值是多少"}]}).json()
    content = body["choices"][0]["message"]["content"]
    assert "**计算**" in content and "÷ 12" in content


def test_chat_last_message_must_be_the_users(client):
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION},
                                                               {"role": "assistant", "content": "8.5%"}]})
    assert r.status_code == 400 and "最后一条消息须为用户的问题" in error_of(r)
    r = client.post("/v1/chat/completions", json={"messages": []})
    assert r.status_code == 422 and "messages：项数太少" in error_of(r)


def test_chat_streams_sse_chunks_that_add_up_to_the_answer(client):
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.post("/v1/chat/completions", json={"messages": messages}).json()
    with client.stream("POST", "/v1/chat/completions", json={"stream": True, "messages": messages}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(e["object"] == "chat.completion.chunk" and e["id"] == events[0]["id"] for e in events)
    content = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert content == whole["choices"][0]["message"]["content"]
    assert len(events) > 3
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["policyqa"]["citations"] == whole["policyqa"]["citations"]


def test_agent_answers_when_configured(read_only_settings):
    class Scripted(GenericFakeChatModel):  # one lookup, then the answer
        def bind_tools(self, tools, **kwargs):
            return self

    model = Scripted(messages=iter([
        AIMessage("", tool_calls=[{"name": "lookup_indicator", "args": {"indicator": "二氧化硫", "region": "乌海市"},
                                   "id": "c1"}]),
        AIMessage("乌海市二氧化硫排放量降低目标为8.5%。")]))
    bot = AgentAssistant(read_only_settings, model=model)
    c = TestClient(create_app(read_only_settings, assistant=bot))
    body = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    assert body["policyqa"]["intent"] == "agent"
    assert body["choices"][0]["message"]["content"].startswith("乌海市二氧化硫排放量降低目标为8.5%[1]。")
    assert WUHAI_ROW in [c["quote"] for c in body["policyqa"]["citations"]]


def test_assistant_choice_follows_settings(read_only_settings):
    assert type(make_assistant(read_only_settings)) is Assistant
    assert type(make_assistant(read_only_settings.with_(use_agent=True))) is Assistant  # no LLM configured
    configured = read_only_settings.with_(use_agent=True, llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    assert type(make_assistant(configured)) is AgentAssistant


# ----- auth -----

def test_bearer_token_when_configured(read_only_settings):
    c = TestClient(create_app(read_only_settings.with_(api_token=TOKEN)))
    r = c.get("/v1/models")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "缺少访问令牌" in error_of(r) and r.json()["error"]["type"] == "authentication_error"
    r = ask(c, QUESTION)
    assert r.status_code == 401
    r = c.get("/api/documents", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and error_of(r) == "访问令牌不正确。"
    r = c.get("/api/documents", headers={"Authorization": f"Basic {TOKEN}"})
    assert r.status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/v1/models", "/api/documents", "/api/tables"):
        assert c.get(path, headers=good).status_code == 200
    assert ask(c, QUESTION).status_code == 401
    assert c.post("/api/ask", json={"question": QUESTION}, headers=good).status_code == 200
    assert c.get("/health").status_code == 200 and c.get("/docs").status_code == 200  # no token needed


def test_no_token_needed_when_none_is_configured(client):
    assert client.get("/api/documents").status_code == 200


# ----- documents -----

def test_upload_reports_each_file_and_the_new_document_is_answerable(writable):
    files = [("files", (HEBEI_PLAN.name, HEBEI_PLAN.read_bytes(), "text/markdown")),
             ("files", ("病毒.exe", b"MZ\x90\x00binary", "application/octet-stream"))]
    r = writable.post("/api/documents", files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    by_name = {x["name"]: x for x in body["results"]}
    assert by_name[HEBEI_PLAN.name]["ok"] and by_name[HEBEI_PLAN.name]["counts"]["tables"] >= 1
    assert not by_name["病毒.exe"]["ok"] and "不支持" in by_name["病毒.exe"]["error"]
    assert body["totals"]["documents"] == 2 and "1 个失败" in body["summary"]
    names = [d["name"] for d in writable.get("/api/documents").json()]
    assert HEBEI_PLAN.name in names and len(names) == 2
    again = writable.post("/api/documents", files=[("files", (HEBEI_PLAN.name, HEBEI_PLAN.read_bytes()))])
    again = again.json()
    assert again["results"][0]["skipped"]


def test_upload_where_every_file_fails_is_400_with_results(writable):
    r = writable.post("/api/documents", files=[("files", ("a.exe", b"MZ\x00\x00"))])
    assert r.status_code == 400 and "文件全部导入失败" in error_of(r)
    assert r.json()["results"][0]["ok"] is False


def test_upload_without_files_is_422(writable):
    r = writable.post("/api/documents", data={"x": "1"})
    assert r.status_code == 422 and "files：缺少这一项" in error_of(r)


def test_oversized_upload_is_413(kb_settings):
    c = TestClient(create_app(kb_settings.with_(max_upload_bytes=4096)))
    r = c.post("/api/documents", files=[("files", ("big.txt", "一、总则\n".encode() * 20000))])
    assert r.status_code == 413 and "上传内容过大：一次最多 4 KB" in error_of(r)
    r = c.post("/api/documents", files=[("files", ("medium.txt", b"a" * 5000))])
    assert r.status_code == 413 and "medium.txt" in error_of(r)

    def chunked():  # no Content-Length: the limit is counted while reading
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n\r\n"
        for _ in range(100):
            yield b"a" * 1024
        yield b"\r\n--b--\r\n"
    r = c.post("/api/documents", content=chunked(),
               headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "上传内容过大" in error_of(r)
    assert len(c.get("/api/documents").json()) == 1


def test_delete_document_then_unknown_is_404(writable):
    doc_id = writable.get("/api/documents").json()[0]["doc_id"]
    r = writable.delete(f"/api/documents/{doc_id}")
    assert r.status_code == 200 and r.json()["deleted"] == doc_id
    assert writable.get("/api/documents").json() == []
    r = writable.delete(f"/api/documents/{doc_id}")
    assert r.status_code == 404 and error_of(r) == f"知识库中没有这个文档：{doc_id}"
    assert ask(writable, QUESTION).json()["refused"]


def test_empty_data_folder_lists_nothing_and_answers_with_a_reason(settings):
    c = TestClient(create_app(settings))
    assert c.get("/api/documents").json() == [] and c.get("/api/tables").json() == []
    body = ask(c, QUESTION).json()
    assert body["refused"] and "知识库还没有建立" in body["text"]
    assert c.delete("/api/documents/x").status_code == 404
    assert c.get("/health").json()["knowledge_base"] is False


# ----- tables -----

def test_tables_as_json_and_csv(client):
    tables = client.get("/api/tables").json()
    region = next(t for t in tables if t["title"].startswith("专栏二"))
    assert region["rows"] == 12 and region["columns"][0] == "地区"
    cells = client.get(f"/api/tables/{region['table_id']}").json()
    assert cells["table"]["table_id"] == region["table_id"]
    cell = next(c for c in cells["cells"] if c["row_label"] == "乌海市" and c["column"] == "二氧化硫排放量降低")
    assert cell["value"] == 8.5 and cell["raw"] == "8.5%" and cell["quote"] == WUHAI_ROW
    wide = client.get(f"/api/tables/{region['table_id']}", params={"wide": "true"}).json()
    assert wide["cells"] is None
    assert {"地区": "乌海市", "二氧化硫排放量降低": 8.5}.items() <= wide["rows"][2].items()
    r = client.get(f"/api/tables/{region['table_id']}", params={"format": "csv", "wide": "true"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="{region["table_id"]}.csv"'
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("地区,单位GDP能耗降低,二氧化硫排放量降低") and "乌海市,16.0,8.5,8.1,8.9,15.4" in lines
    long_csv = client.get(f"/api/tables/{region['table_id']}", params={"format": "csv"}).text
    assert "missing_percent" in long_csv


def test_unknown_table_is_404_and_bad_format_is_422(client):
    r = client.get("/api/tables/t_nope")
    assert r.status_code == 404 and error_of(r) == "知识库中没有这个表格：t_nope"
    table_id = client.get("/api/tables").json()[0]["table_id"]
    r = client.get(f"/api/tables/{table_id}", params={"format": "xlsx"})
    assert r.status_code == 422 and "format：格式不对" in error_of(r)


# ----- docs and CLI -----

def test_openapi_docs_are_in_chinese(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "政策问答 API"
    assert {"/v1/chat/completions", "/v1/models", "/api/ask", "/api/documents", "/api/documents/{doc_id}",
            "/api/tables", "/api/tables/{table_id}"} <= set(spec["paths"])
    assert spec["paths"]["/api/ask"]["post"]["summary"] == "提问"
    assert "会话编号" in json.dumps(spec["components"]["schemas"]["AskRequest"], ensure_ascii=False)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    page = client.get("/docs")
    assert page.status_code == 200 and "政策问答 API" in page.text
    try:
        import fastapi_offline  # noqa: F401  optional: Swagger UI served locally, no CDN
    except ImportError:
        return
    assert "cdn.jsdelivr" not in page.text
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_cli_help_and_defaults(capsys, monkeypatch):
    with pytest.raises(SystemExit) as exc:
        api_main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "政策问答" in out
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    assert api_main([]) == 0 and api_main(["--host", "0.0.0.0", "--port", "9001"]) == 0
    assert calls[0] == ("api.server:app", {"host": "127.0.0.1", "port": 8000, "log_level": "info"})
    assert calls[1][1]["host"] == "0.0.0.0" and calls[1][1]["port"] == 9001


# ----- the openai client against a real server -----

@contextmanager
def serving(app):
    """uvicorn on a free loopback port in a thread (httpx2's ASGI transport is async-only)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_openai_python_client(read_only_settings):
    import openai

    app = create_app(read_only_settings.with_(api_token=TOKEN))
    with serving(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key=TOKEN, max_retries=0)
        assert [m.id for m in client.models.list()] == ["policyqa"]
        reply = client.chat.completions.create(model="policyqa",
                                               messages=[{"role": "user", "content": QUESTION}])
        text = reply.choices[0].message.content
        assert "8.5%" in text and WUHAI_ROW in text
        record = reply.model_extra["policyqa"]
        assert record["figures"][0]["value"] == 8.5
        stream = client.chat.completions.create(model="policyqa", stream=True,
                                                messages=[{"role": "user", "content": QUESTION}])
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert streamed == text
        wrong = openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as exc:
            wrong.models.list()
        assert exc.value.status_code == 401 and "访问令牌不正确" in exc.value.message
