"""`python -m ingest`: Chinese help, a summary with counts, exit codes that name what went wrong."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ingest.cli import main
from kb.knowledge import KnowledgeBase
from kb.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_module_help_exits_zero_in_chinese():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "ingest", "--help"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    assert "导入知识库" in proc.stdout
    assert "--kb" in proc.stdout and "数据目录" in proc.stdout
    assert "--delete" in proc.stdout and "--rebuild" in proc.stdout
    assert "显示本帮助" in proc.stdout


def test_main_ingests_and_prints_a_summary_with_counts(tmp_path, sample_plan_path, capsys):
    assert main([str(sample_plan_path), "--kb", str(tmp_path / "data"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 个文件已导入" in out and "0 个失败" in out
    counts = dict(re.findall(r"(文档|章节|表格|数量事实|文本块) (\d+)", out))
    kb = KnowledgeBase.open(load_settings(data_dir=tmp_path / "data", embedder="hash"))
    assert counts == {"文档": "1", "章节": str(sum(d["n_sections"] for d in kb.docs)), "表格": "2",
                      "数量事实": str(len(kb.facts)), "文本块": str(len(kb.chunks))}
    assert "乌兰察布市" in out  # the flagged cell is reported, not hidden

    assert main([str(sample_plan_path), "--kb", str(tmp_path / "data"), "--quiet"]) == 0
    assert "1 个未变化已跳过" in capsys.readouterr().out


def test_a_bad_file_returns_two_and_names_the_file(tmp_path, sample_plan_path, capsys):
    bad = tmp_path / "损坏的规划.docx"
    bad.write_bytes(os.urandom(1024))
    code = main([str(sample_plan_path), str(bad), "--kb", str(tmp_path / "data"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 2
    assert "损坏的规划.docx" in out and "Word" in out
    assert "1 个文件已导入" in out and "1 个失败" in out


def test_a_missing_path_is_named_in_chinese(tmp_path, capsys):
    code = main([str(tmp_path / "没有的文件.txt"), "--kb", str(tmp_path / "data"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 2
    assert "没有的文件.txt" in out and "文件不存在" in out


def test_a_folder_is_searched_but_not_the_knowledge_base_inside_it(tmp_path, sample_plan_path, capsys):
    folder = tmp_path / "plans"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / sample_plan_path.name).write_bytes(sample_plan_path.read_bytes())
    (folder / "notes.csv").write_text("a,b\n")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "x.txt").write_text("一、隐藏\n")
    assert main([str(folder), "--kb", str(folder / "data"), "--quiet"]) == 0
    # Again: the knowledge base's own uploads inside the folder are not new files.
    assert main([str(folder), "--kb", str(folder / "data"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("文档 1，") == 2


def test_an_unwritable_data_folder_exits_one_with_a_chinese_message(tmp_path, sample_plan_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main([str(sample_plan_path), "--kb", str(blocker / "data"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("错误：") and "无法写入知识库目录" in err


def test_delete_and_rebuild_from_the_command_line(tmp_path, sample_plan_path, capsys):
    data = tmp_path / "data"
    assert main([str(sample_plan_path), "--kb", str(data), "--quiet"]) == 0
    settings = load_settings(data_dir=data, embedder="hash")
    doc_id = KnowledgeBase.open(settings).docs[0]["doc_id"]
    assert main(["--rebuild", "--kb", str(data), "--quiet"]) == 0
    assert "1 个文件已导入" in capsys.readouterr().out
    assert main(["--delete", doc_id, "--kb", str(data)]) == 0
    assert "已删除 1 个文档" in capsys.readouterr().out
    assert KnowledgeBase.open(settings).docs == []
    assert main(["--delete", doc_id, "--kb", str(data)]) == 1
    assert doc_id in capsys.readouterr().err
